// Its own module, apart from the Relay class: the command's option table shows these defaults in --help, and a
// plain question must not load the relay to read two numbers.

/**
 * How long a relay lets a generation's upstream stay silent by default, in milliseconds: 10 minutes for its first
 * chunk (a reasoning model that hides its reasoning may think that long before it sends one; it is also the `openai`
 * client's own request timeout) and 5 minutes between two chunks (far above any pause of a healthy stream: proxies
 * already cut connections silent for far less, Cloudflare's after 100 s).
 */
export const DEFAULT_UPSTREAM_TIMEOUT: Readonly<{ first: number; idle: number }> = Object.freeze({ first: 10 * 60_000, idle: 5 * 60_000 });
