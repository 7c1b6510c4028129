package main

// The chat bridges `gateway run` can start: each registers itself with the
// gateway's registry (gateway.RegisterBridge) when linked in.
import _ "hermes-exec/telegram"
