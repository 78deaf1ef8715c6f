// Ory Polis's directory sync (the @boxyhq/saml-jackson library), in memory, served over HTTP at
// SCIM paths: the in-memory peer of issue #21's table. Prints {"base", "token"} once listening.
//   node polis-server.js PORT
const http = require('http');
const jackson = require('@boxyhq/saml-jackson');

const port = Number(process.argv[2] || 18090);

async function main() {
  const { directorySyncController: dsync } = await jackson.default({
    externalUrl: `http://127.0.0.1:${port}`,
    samlPath: '/api/oauth/saml',
    db: { engine: 'mem' },
  });
  const { data: directory, error } = await dsync.directories.create({
    tenant: 'acme',
    product: 'bench',
    type: 'azure-scim-v2',
  });
  if (error) throw new Error(JSON.stringify(error));
  // /api/scim/v2.0/{directory}/{Users|Groups}[/{id}], as Polis's own server routes them.
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://localhost');
      // api, scim, v2.0, directory, resource type, id
      const [, , , directoryId, resourceType = '', resourceId] = url.pathname.split('/').filter(Boolean);
      try {
        const { status, data } = await dsync.requests.handle(
          {
            method: req.method,
            body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined,
            directoryId,
            resourceType,
            resourceId,
            apiSecret: (req.headers.authorization || '').replace(/^Bearer /, ''),
            query: Object.fromEntries(url.searchParams),
          },
          async () => {},
        );
        res.writeHead(status, { 'content-type': 'application/scim+json' });
        res.end(JSON.stringify(data));
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(JSON.stringify({ base: `/api/scim/v2.0/${directory.id}`, token: directory.scim.secret }));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
