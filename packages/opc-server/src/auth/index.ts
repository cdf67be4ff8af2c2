/**
 * Tokens and rights (docs/SECURITY.md): the auth file, stored hashes, per-address failure limits and the
 * per-connection state the TCP sessions and the HTTP API consult.
 */
export { AuthFileError, loadAuthFile, parseAuthFile, type AuthConfig, type TokenEntry } from './auth-file.js';
export {
  addressOf,
  Authenticator,
  AuthSession,
  type AuthCheck,
  type AuthenticatorOptions,
  type Denial,
  type Holder,
  type ReloadResult,
} from './authenticator.js';
export {
  generateToken,
  hashToken,
  parseTokenHash,
  SCRYPT_DEFAULTS,
  verifyToken,
  type ScryptParams,
  type TokenHash,
} from './hash.js';
export { FAILURE_DEFAULTS, FailureLimiter, type FailureLimits } from './limiter.js';
export { NO_RIGHTS, Rights } from './rights.js';
