/** Every account key lives under `${prefix}api:`; names in keys are canonical (see canonicalName). */
export class AccountKeys {
  private readonly base: string;

  constructor(prefix: string) {
    this.base = `${prefix}api:`;
  }

  user(canonical: string): string {
    return `${this.base}user:${canonical}`;
  }

  /** Canonical names of every user. */
  users(): string {
    return `${this.base}users`;
  }

  /** Canonical names of the enabled admins, kept in step with the user records by the scripts that change them. */
  admins(): string {
    return `${this.base}admins`;
  }

  /** A session by the SHA-256 of its id: the id itself is never stored. */
  session(idHash: string): string {
    return `${this.base}session:${idHash}`;
  }

  loginFailures(kind: 'user' | 'ip', subject: string): string {
    return `${this.base}login-failures:${kind}:${subject}`;
  }

  token(id: string): string {
    return `${this.base}token:${id}`;
  }

  tokens(): string {
    return `${this.base}tokens`;
  }

  /** SHA-256 of a token's secret -> its id. */
  tokenByHash(secretHash: string): string {
    return `${this.base}token-hash:${secretHash}`;
  }
}
