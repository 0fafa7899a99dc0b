// A real OpenID Connect provider on loopback for the sign-in tests:
// oauth2-mock-server serves discovery, a JWKS and RS256-signed ID tokens,
// and checks PKCE. A control port sets who the next sign-in is, and how the
// next ID token goes wrong when a test wants it to. Prints one JSON line,
// {"issuer", "control"}, once both listen.
import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');

// Who signs in next: {sub, email, email_verified, omit_email, tamper}.
// tamper: "signature" | "expired" | "nonce" | "audience" | "issuer".
let next = { sub: 'subject-1', email: 'someone@example.com', email_verified: true };
let userinfo = null;

server.service.on('beforeTokenSigning', (token) => {
  const payload = token.payload;
  payload.sub = next.sub;
  if (!next.omit_email) {
    payload.email = next.email;
    payload.email_verified = next.email_verified;
  }
  const now = Math.floor(Date.now() / 1000);
  if (next.tamper === 'expired') {
    payload.iat = now - 7200;
    payload.exp = now - 3600;
  }
  if (next.tamper === 'nonce' && payload.nonce !== undefined) payload.nonce = 'another-nonce';
  if (next.tamper === 'audience') payload.aud = 'another-client';
  if (next.tamper === 'issuer') payload.iss = 'http://127.0.0.1:1';
});

server.service.on('beforeResponse', (response) => {
  const idToken = response.body && response.body.id_token;
  if (next.tamper === 'signature' && typeof idToken === 'string') {
    // Same header and claims, another signature: what a forger without the key can make.
    const [header, payload, signature] = idToken.split('.');
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    response.body.id_token = [header, payload, flipped].join('.');
  }
});

server.service.on('beforeUserinfo', (response) => {
  response.body = userinfo ?? { sub: next.sub, email: next.email, email_verified: next.email_verified };
});

const control = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    const settings = JSON.parse(body || '{}');
    if (request.url === '/next') next = settings;
    if (request.url === '/userinfo') userinfo = settings;
    response.writeHead(204).end();
  });
});
control.listen(0, '127.0.0.1', () => {
  const issuer = server.issuer.url;
  console.log(JSON.stringify({ issuer, control: `http://127.0.0.1:${control.address().port}` }));
});

// Ends with the test that started it (its stdin closes), unless started
// on its own by a script that stops it (NEPTUN_OIDC_STANDALONE=1).
if (process.env.NEPTUN_OIDC_STANDALONE !== '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
