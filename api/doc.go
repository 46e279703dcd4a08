// Package api serves fjord's REST contract (API.md) with echo: it decodes and
// validates requests, calls the engine, and writes JSON or problem+json
// answers. It holds no log logic; errors become API codes through package
// problem's one table.
package api
