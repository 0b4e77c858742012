package config

import "errors"

// LoadContract loads a shipped contract by name (e.g. "hbot-day28") or a
// YAML file by path, strictly decoded and validated.
func LoadContract(nameOrPath string) (*Contract, error) {
	return nil, errors.New("config: not implemented")
}
