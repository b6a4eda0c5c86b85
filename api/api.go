// Package api holds the HTTP API's OpenAPI 3 description (openapi.yaml),
// which dms serves as JSON at /api/v1/openapi.json.
package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml
var spec []byte

// YAML is the description as checked in.
func YAML() []byte { return spec }

// JSON is the description in JSON.
func JSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	return json.MarshalIndent(doc, "", "  ")
}
