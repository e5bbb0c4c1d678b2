//go:build tools

// Package tools pins ytt, which Cartographer runs from PATH to render ytt templates.
package tools

import _ "carvel.dev/ytt/cmd/ytt"
