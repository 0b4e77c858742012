package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// LoadContractDigest loads a contract as LoadContract does and also returns
// the sha256 (hex) of the bytes it decoded, so that two loads can prove they
// judged the same contract.
func LoadContractDigest(nameOrPath string) (*Contract, string, error) {
	data, src, err := readContract(nameOrPath)
	if err != nil {
		return nil, "", err
	}
	c, err := ParseContract(data)
	if err != nil {
		return nil, "", fmt.Errorf("load contract %q: %w", src, err)
	}
	sum := sha256.Sum256(data)
	return c, hex.EncodeToString(sum[:]), nil
}
