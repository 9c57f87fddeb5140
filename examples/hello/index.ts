// The demo function `npm start` deploys: Workers module style.
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    return Response.json({
      message: `Hello, ${name}!`,
      path: url.pathname,
      invocationId: request.headers.get("x-isle-invocation-id"),
    });
  },
};
