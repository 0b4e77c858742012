package config

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed contracts/*.yaml
var shipped embed.FS

// ContractNames lists the shipped contracts, sorted.
func ContractNames() []string {
	entries, err := shipped.ReadDir("contracts")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// LoadContract loads a shipped contract by name (e.g. "hbot-day28") or a
// YAML file by path, strictly decoded and validated.
func LoadContract(nameOrPath string) (*Contract, error) {
	data, src, err := readContract(nameOrPath)
	if err != nil {
		return nil, err
	}
	c, err := ParseContract(data)
	if err != nil {
		return nil, fmt.Errorf("load contract %q: %w", src, err)
	}
	return c, nil
}

func readContract(nameOrPath string) ([]byte, string, error) {
	if nameOrPath == "" {
		return nil, "", errors.New("load contract: empty name")
	}
	// A bare name without a path separator or extension is a shipped contract.
	if !strings.ContainsAny(nameOrPath, `/\`) && path.Ext(nameOrPath) == "" {
		data, err := shipped.ReadFile("contracts/" + nameOrPath + ".yaml")
		if err != nil {
			return nil, nameOrPath, fmt.Errorf("load contract %q: not a shipped contract (have %s)",
				nameOrPath, strings.Join(ContractNames(), ", "))
		}
		return data, nameOrPath, nil
	}
	data, err := readCapped(nameOrPath)
	if err != nil {
		return nil, nameOrPath, fmt.Errorf("load contract %q: %w", nameOrPath, err)
	}
	return data, nameOrPath, nil
}

// MaxContractBytes bounds a contract file: a contract is a few KiB, and the
// cap keeps a device (/dev/zero), a FIFO or a runaway file from being read
// into memory.
const MaxContractBytes = 1 << 20

// readCapped reads a regular file of at most MaxContractBytes.
func readCapped(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxContractBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxContractBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxContractBytes)
	}
	return data, nil
}

// ParseContract strictly decodes YAML (unknown fields are errors) and
// validates the result.
func ParseContract(data []byte) (*Contract, error) {
	if len(data) > MaxContractBytes {
		return nil, fmt.Errorf("decode contract: larger than %d bytes", MaxContractBytes)
	}
	if err := refuseAliases(data); err != nil {
		return nil, fmt.Errorf("decode contract: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Contract
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("decode contract: empty document")
		}
		return nil, fmt.Errorf("decode contract: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode contract: more than one YAML document")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// refuseAliases refuses YAML anchors and aliases. An alias is expanded by
// the typed decoding, so a few KiB of nested aliases ("billion laughs")
// become gigabytes; a contract has no need for them. The document is first
// parsed into a node tree, which holds an alias as one node, unexpanded.
func refuseAliases(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// The strict decoding reports it.
			return nil
		}
		if n := findAlias(&doc); n != nil {
			if n.Kind == yaml.AliasNode {
				return fmt.Errorf("line %d: alias *%s: YAML aliases are not allowed in a contract", n.Line, n.Value)
			}
			return fmt.Errorf("line %d: anchor &%s: YAML anchors are not allowed in a contract", n.Line, n.Anchor)
		}
	}
}

// findAlias returns the first alias or anchored node of the tree.
func findAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}
