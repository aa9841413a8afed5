import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedAnswers } from './shared-answers';

void describe('SharedAnswers', () => {
  void it('computes once per period for the same key, also for callers arriving while it runs', async () => {
    const shared = new SharedAnswers<number>(500);
    let computed = 0;
    const compute = async (): Promise<number> => {
      computed++;
      await new Promise((r) => setTimeout(r, 10));
      return computed;
    };
    const answers = await Promise.all([shared.get('q', compute, 1000), shared.get('q', compute, 1000), shared.get('q', compute, 1400)]);
    assert.deepEqual(answers, [1, 1, 1]);
    assert.equal(await shared.get('other', compute, 1400), 2, 'another key is its own answer');
    assert.equal(await shared.get('q', compute, 1500), 3, 'after the period the answer is computed again');
    shared.clear();
    assert.equal(await shared.get('q', compute, 1501), 4, 'clear forgets at once');
  });

  void it('does not keep a failure for later callers', async () => {
    const shared = new SharedAnswers<string>(60_000);
    await assert.rejects(shared.get('k', () => Promise.reject(new Error('redis away'))), /redis away/);
    assert.equal(await shared.get('k', () => Promise.resolve('back')), 'back');
  });
});
