import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, call, type Caller } from '../api';
import { useSession } from '../context';
import { ErrorLine } from '../widgets';

interface Login {
  user: { name: string; role: Caller['role'] };
  csrfToken: string;
}

export function SignInPage({ onSignedIn }: { onSignedIn: (caller: Caller, csrfToken: string) => void }): JSX.Element {
  const { i18n } = useSession();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    setError(null);
    try {
      const login = await call<Login>('POST', '/session', { name, password });
      onSignedIn({ name: login.user.name, role: login.user.role }, login.csrfToken);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setMessage(i18n.t('signIn.failed'));
      else if (err instanceof ApiError && err.status === 429) setMessage(i18n.t('signIn.tooMany'));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card narrow">
      <h1>{i18n.t('signIn.title')}</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          {i18n.t('signIn.name')}
          <input name="name" autocomplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {i18n.t('signIn.password')}
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {message !== null && (
          <p class="error" role="alert">
            {message}
          </p>
        )}
        <ErrorLine error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {i18n.t('signIn.submit')}
        </button>
      </form>
    </section>
  );
}
