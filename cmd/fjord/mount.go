package main

// mount attaches the parts served beside the REST API (groups, WebSocket,
// OpenAPI, console, auth). Each adds its routes and, if it owns goroutines,
// a closer to b.closers.
func (b *broker) mount() error {
	return nil
}
