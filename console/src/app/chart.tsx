import type { JSX } from 'preact';

/** One bar: its value, the tooltip that names it, and a stable key. */
export interface Bar {
  key: string;
  value: number;
  title: string;
}

const W = 360;
const H = 120;
const PAD = { left: 34, right: 6, top: 8, bottom: 20 };

/**
 * A small bar chart drawn as inline SVG (no script, no style attribute, so the content security policy holds): the
 * bars from left to right, the largest value and 0 on the axis, a label under each end, and the summary as the
 * image's accessible name and as its caption.
 */
export function BarChart(props: { bars: Bar[]; summary: string; start: string; end: string; format: (n: number) => string; testId: string }): JSX.Element {
  const { bars } = props;
  const max = Math.max(...bars.map((b) => b.value), 0);
  const top = max > 0 ? max : 1;
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const width = innerW / Math.max(bars.length, 1);
  return (
    <figure class="chart" data-testid={props.testId}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.summary} preserveAspectRatio="xMidYMid meet">
        <line x1={PAD.left} y1={PAD.top + innerH} x2={W - PAD.right} y2={PAD.top + innerH} class="axis" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={PAD.top + innerH} class="axis" />
        <text x={PAD.left - 4} y={PAD.top + 8} class="tick" text-anchor="end">
          {props.format(top)}
        </text>
        <text x={PAD.left - 4} y={PAD.top + innerH} class="tick" text-anchor="end">
          0
        </text>
        {bars.map((b, i) => {
          const h = (Math.max(b.value, 0) / top) * innerH;
          return (
            <rect key={b.key} x={PAD.left + i * width + 0.5} y={PAD.top + innerH - h} width={Math.max(width - 1, 0.5)} height={h} class="bar">
              <title>{b.title}</title>
            </rect>
          );
        })}
        {bars.length > 0 && (
          <>
            <text x={PAD.left} y={H - 4} class="tick">
              {props.start}
            </text>
            <text x={W - PAD.right} y={H - 4} class="tick" text-anchor="end">
              {props.end}
            </text>
          </>
        )}
      </svg>
      <figcaption>{props.summary}</figcaption>
    </figure>
  );
}
