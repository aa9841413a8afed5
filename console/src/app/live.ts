import { useEffect } from 'preact/hooks';
import { API } from './api';

/**
 * Follows a Server-Sent Events stream of `task` events while mounted; `onEnd` when the server says the task finished.
 * EventSource reconnects by itself (with Last-Event-ID) after a dropped connection.
 */
export function useTaskEvents<T>(path: string | null, onTask: (view: T) => void, onEnd?: () => void): void {
  useEffect(() => {
    if (path === null) return;
    const source = new EventSource(`${API}${path}`);
    source.addEventListener('task', (e) => {
      try {
        onTask(JSON.parse((e as MessageEvent<string>).data) as T);
      } catch {
        // A frame that is not JSON is skipped; the next one carries the whole state again.
      }
    });
    source.addEventListener('end', () => {
      source.close();
      onEnd?.();
    });
    return () => source.close();
  }, [path]);
}
