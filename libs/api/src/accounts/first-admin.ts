import { quoted } from '@subpack/rules';
import type { FirstAdmin } from './config';
import { AccountError } from './errors';
import type { Users } from './users';

/** Recorded as createdBy for the admin the configuration creates. */
export const CONFIGURATION_ACTOR = 'configuration';

export type FirstAdminOutcome = { created: true; name: string } | { created: false; reason: 'not configured' | 'an admin exists' };

/**
 * Creates the configured admin when there is no admin at all, so a new deployment can be logged into; once any admin
 * exists the configuration is ignored (a password changed since is not reset at the next start). Two replicas
 * starting together create it once. The password is neither logged nor returned.
 */
export async function ensureFirstAdmin(users: Users, admin: FirstAdmin | undefined): Promise<FirstAdminOutcome> {
  if (admin === undefined) return { created: false, reason: 'not configured' };
  if (await users.hasAdmin()) return { created: false, reason: 'an admin exists' };
  try {
    const user = await users.create({ name: admin.name, role: 'admin', password: admin.password }, CONFIGURATION_ACTOR);
    return { created: true, name: user.name };
  } catch (err) {
    if (!(err instanceof AccountError && err.code === 'USER_EXISTS')) throw err;
    // Another replica created it a moment ago.
    if (await users.hasAdmin()) return { created: false, reason: 'an admin exists' };
    throw new AccountError(
      'USER_EXISTS',
      `SUBPACK_API_ADMIN names the existing user ${quoted(admin.name)}, who is not an enabled admin, and there is no admin: ` +
        `name a new user, or make them admin with: subpack api user role ${admin.name} admin`,
    );
  }
}
