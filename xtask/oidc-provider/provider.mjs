// A real OpenID Connect provider for twostep's end-to-end tests: `oidc-provider` (a certified
// implementation of OpenID Connect) with its development login and consent pages, one
// confidential client, and an account for whatever login is typed. Test use only: the
// development pages accept any password.
//
// `cargo xtask test` installs it (`npm ci` beside this file); backend/tests/browser/oidc.rs
// starts it on the loopback interface. Settings come from the environment:
//
//   OIDC_PORT           port to listen on (127.0.0.1)                       required
//   OIDC_ISSUER         issuer identifier              default http://localhost:$OIDC_PORT
//   OIDC_CLIENT_ID      the test client's id                                required
//   OIDC_CLIENT_SECRET  its secret (client_secret_basic)                    required
//   OIDC_REDIRECT_URI   its one redirect URI (twostep's /api/oidc/callback) required
//   OIDC_EMAIL_DOMAIN   accounts get the verified e-mail LOGIN@DOMAIN  default example.test
//
// It prints "oidc-provider listening on <issuer>" once it accepts connections, then
// "request <METHOD> <path>" for every request it receives (so a test can count the load
// twostep puts on it), and exits when its standard input closes (so it never outlives the
// test that started it).

import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
const issuer = process.env.OIDC_ISSUER || `http://localhost:${port}`;
const emailDomain = process.env.OIDC_EMAIL_DOMAIN || 'example.test';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: required('OIDC_CLIENT_ID'),
      client_secret: required('OIDC_CLIENT_SECRET'),
      redirect_uris: [required('OIDC_REDIRECT_URI')],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // Every authorization request must use PKCE (twostep always does).
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
  },
  // The login typed on the development login page is the account id and the subject.
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@${emailDomain}`, email_verified: true };
      },
    };
  },
  cookies: { keys: ['twostep test identity provider cookie key'] },
  features: { devInteractions: { enabled: true } },
});

provider.use(async (ctx, next) => {
  console.log(`request ${ctx.method} ${ctx.path}`);
  await next();
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  process.exit(0);
});
