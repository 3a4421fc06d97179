package manifest

import (
	"encoding/json"
	"strings"
)

func validateDataKeys(e *errs, keys []string, p fieldPath) {
	for _, k := range keys {
		switch {
		case len(k) > 253:
			e.invalid(p, k, "must be no more than 253 characters")
		case k == "." || k == "..":
			e.invalid(p, k, "must not be '.' or '..'")
		case strings.HasPrefix(k, ".."):
			e.invalid(p, k, "must not start with '..'")
		case !configKeyRE.MatchString(k):
			e.invalid(p, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '"+configKeyFmt+"')")
		}
	}
}

const maxDataSize = 1 << 20

func validateConfigMap(e *errs, c *ConfigMap) {
	dp := fieldPath{}.child("data")
	validateDataKeys(e, sortedKeys(c.Data), dp)
	validateDataKeys(e, sortedKeys(c.BinaryData), fieldPath{}.child("binaryData"))
	size := 0
	for _, k := range sortedKeys(c.Data) {
		size += len(k) + len(c.Data[k])
		if _, dup := c.BinaryData[k]; dup {
			e.invalid(dp, k, "duplicate of key present in binaryData")
		}
	}
	for k, v := range c.BinaryData {
		size += len(k) + len(v)
	}
	if size > maxDataSize {
		e.add(nil, "Too long: must have at most %d bytes", maxDataSize)
	}
}

func validateSecret(e *errs, s *Secret) {
	dp := fieldPath{}.child("data")
	validateDataKeys(e, sortedKeys(s.Data), dp)
	size := 0
	for k, v := range s.Data {
		size += len(k) + len(v)
	}
	if size > maxDataSize {
		e.add(dp, "Too long: must have at most %d bytes", maxDataSize)
	}
	need := func(key string) bool {
		if _, ok := s.Data[key]; !ok {
			e.required(dp.key(key), "")
			return false
		}
		return true
	}
	switch s.Type {
	case "kubernetes.io/dockerconfigjson":
		if need(".dockerconfigjson") && !json.Valid(s.Data[".dockerconfigjson"]) {
			e.invalid(dp.key(".dockerconfigjson"), "<secret contents redacted>", "must be valid JSON")
		}
	case "kubernetes.io/dockercfg":
		if need(".dockercfg") && !json.Valid(s.Data[".dockercfg"]) {
			e.invalid(dp.key(".dockercfg"), "<secret contents redacted>", "must be valid JSON")
		}
	case "kubernetes.io/tls":
		need("tls.crt")
		need("tls.key")
	case "kubernetes.io/ssh-auth":
		need("ssh-privatekey")
	}
}
