// A Function URL handler, as one writes it for Lambda's Node.js runtime: an API Gateway payload 2.0 event in
// (GET /fn/node-http/readings?room=attic arrives as rawPath /readings), a response object out.
const readings = new Map();

export const handler = async (event, context) => {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? '/';
  if (path === '/health') {
    return { statusCode: 200, body: JSON.stringify({ ok: true }) };
  }
  if (path === '/readings' && method === 'POST') {
    const body = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body);
    readings.set(body.room, body.celsius);
    console.log(`stored room=${body.room} celsius=${body.celsius}`);
    return { statusCode: 201, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stored: body.room, requestId: context.awsRequestId }) };
  }
  if (path === '/readings') {
    const room = event.queryStringParameters?.room;
    const value = room === undefined ? Object.fromEntries(readings) : readings.get(room) ?? null;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
  }
  return { statusCode: 404, body: JSON.stringify({ message: `no route for ${method} ${path}` }) };
};
