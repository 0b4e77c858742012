package simstack

import (
	"bytes"
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed contract.yaml
var contractYAML []byte

// SelfPlaceholder is the argv element of contract.yaml that Contract
// replaces with the argv of the binary that runs the sim.
const SelfPlaceholder = "{self}"

// Contract returns the demo gate contract with every "{self}" argv element
// replaced by self (e.g. [os.Executable()] or [go, run, ./dev/hbotsim]).
// Comments and order are kept: the YAML is edited as a node tree.
func Contract(self []string) ([]byte, error) {
	if len(self) == 0 {
		return nil, fmt.Errorf("build demo contract: empty self argv")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(contractYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse demo contract: %w", err)
	}
	n := spliceSelf(&doc, self)
	if n == 0 {
		return nil, fmt.Errorf("build demo contract: no %s placeholder found", SelfPlaceholder)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode demo contract: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode demo contract: %w", err)
	}
	return out.Bytes(), nil
}

// ContractTemplate is the embedded contract with its placeholders.
func ContractTemplate() []byte { return append([]byte(nil), contractYAML...) }

// spliceSelf replaces each scalar "{self}" element of a sequence by the
// elements of self, and returns how many it replaced.
func spliceSelf(n *yaml.Node, self []string) int {
	count := 0
	if n.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Value == SelfPlaceholder {
				for _, s := range self {
					out = append(out, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle})
				}
				count++
				continue
			}
			out = append(out, c)
		}
		n.Content = out
	}
	for _, c := range n.Content {
		count += spliceSelf(c, self)
	}
	return count
}
