/** TLS for the server's TCP ports (docs/SECURITY.md, "TLS"). */
export {
  TLS_HANDSHAKE_TIMEOUT_MS,
  TLS_MIN_VERSION,
  TlsConfigError,
  TlsCredentials,
  type TlsCertificateInfo,
  type TlsConfigErrorCode,
  type TlsFiles,
  type TlsMaterial,
} from './credentials.js';
export { TlsPort, type TlsPortOptions } from './tls-port.js';
