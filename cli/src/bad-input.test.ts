import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { ApkError, readEntry } from '@subpack/apk';
import { NotConnectedError, PermanentError, TransientError } from '@subpack/messaging';
import { PackInputError, checkNameTemplate, parseChannelList } from '@subpack/pack';
import { isBadInput } from '@subpack/rules';
import { RegistryInputError, UnknownAppError, checkAppName } from '@subpack/serve';
import { MasterUnavailableError, OutsideRootsError, StorageConfigError, StorageError, StorageRoots, StorageUrlError, openLocalFile, openMaster, parseProfiles, parseStorageUrl, storageError } from '@subpack/storage';
import { makeTempDir, removeDir } from '@subpack/testing';
import { InvalidTaskIdError, assertTaskId } from '@subpack/state';
import { DependencyError } from './commands/broker';
import { describeError } from './main';
import { UsageError } from './usage';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail('expected a rejection'), (err: unknown) => err);
}

/** Each error as the library really raises it from bad input, with the class the decision used to name. */
async function badInputs(dir: string): Promise<Array<[string, unknown, new (...args: never[]) => Error]>> {
  const notZip = join(dir, 'not-a-zip.apk');
  await writeFile(notZip, 'this is text, not an APK\n');
  return [
    ['APK that is not a ZIP', await rejected(readEntry(await openLocalFile(notZip), 'AndroidManifest.xml', { maxBytes: 1024 })), ApkError],
    ['channel list with an empty id', thrown(() => parseChannelList('good\n,x=1\n')), PackInputError],
    ['naming template with an unknown placeholder', thrown(() => checkNameTemplate('{nope}.apk')), PackInputError],
    ['served app name', thrown(() => checkAppName('../x')), RegistryInputError],
    ['unknown served app', new UnknownAppError('no such app'), UnknownAppError],
    ['storage URL that is not a URL', thrown(() => parseStorageUrl('nope', 'out')), StorageUrlError],
    ['storage profile file that is not JSON', thrown(() => parseProfiles('{', 'profiles.json')), StorageConfigError],
    ['location outside the roots', thrown(() => StorageRoots.parse('file:///srv/apks', 'SUBPACK_TARGET_ROOTS').check('file:///etc/passwd', 'master')), OutsideRootsError],
    ['missing object', storageError('reading s3://b/k', { code: 'NoSuchKey', status: 404, message: 'The specified key does not exist.' }, []), StorageError],
    ['missing master', await rejected(openMaster(pathToFileURL(join(dir, 'missing.apk')).href)), MasterUnavailableError],
    ['bad command line', new UsageError('--out is required'), UsageError],
    ['task id the rules refuse', thrown(() => assertTaskId('bad id/../x')), InvalidTaskIdError],
  ];
}

test('every kind of bad input is recognised as bad input, and the CLI exits 2 with its message', async () => {
  const dir = await makeTempDir('bad-input');
  try {
    for (const [what, err, cls] of await badInputs(dir)) {
      assert.ok(err instanceof cls, `${what}: ${String(err)} is a ${cls.name}`);
      assert.equal(isBadInput(err), true, what);
      assert.deepEqual(describeError(err), { message: err.message, code: 2 }, what);
    }
  } finally {
    await removeDir(dir);
  }
});

test('outages, timeouts and bugs are not bad input, and the CLI exits 1', () => {
  const unexpected: Array<[string, Error]> = [
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a store outage', storageError('reading s3://b/k', { code: 'InternalError', status: 500, message: 'We encountered an internal error.' }, [])],
    ['a store throttling', storageError('reading s3://b/k', { code: 'SlowDown', status: 429, message: 'Reduce your request rate.' }, [])],
    ['a short read', new StorageError('s3://b/k: got 10 of 20 bytes at offset 0', false)],
    ['RabbitMQ down', new NotConnectedError('no connection to RabbitMQ within 100 ms')],
    ['Redis down', new DependencyError('cannot reach Redis at redis://127.0.0.1:1 within 1 s')],
    ['a transient handler failure', new TransientError('try again')],
    // Permanent for the broker, but not a statement about the caller's input.
    ['a parked message', new PermanentError('retries exhausted')],
  ];
  for (const [what, err] of unexpected) {
    assert.equal(isBadInput(err), false, what);
    assert.equal(describeError(err).code, 1, what);
  }
});
