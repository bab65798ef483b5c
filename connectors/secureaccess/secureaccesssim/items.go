package secureaccesssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeItems parses a PUT body: a JSON array of 1-250 objects, each with
// exactly the contract's fields, no nulls, string values, and no key twice.
// One bad item fails the whole PUT, as on the target.
func decodeItems(r io.Reader, typ string) ([]Registration, error) {
	dec := json.NewDecoder(r)
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if raw == nil { // "null"
		return nil, errors.New("body is not an array")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the array")
	}
	if len(raw) < 1 || len(raw) > MaxItems {
		return nil, fmt.Errorf("%d items, want 1-%d", len(raw), MaxItems)
	}
	seen := make(map[string]bool, len(raw))
	items := make([]Registration, 0, len(raw))
	for i, m := range raw {
		it, err := decodeItem(m, typ)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if seen[it.Key] {
			return nil, fmt.Errorf("item %d: key %q twice", i, it.Key)
		}
		seen[it.Key] = true
		items = append(items, it)
	}
	return items, nil
}

func decodeItem(m json.RawMessage, typ string) (Registration, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m, &fields); err != nil || fields == nil {
		return Registration{}, errors.New("not an object")
	}
	var it Registration
	str := map[string]*string{
		"key": &it.Key, "label": &it.Label, "status": &it.Status,
		"domainName": &it.DomainName, "samAccountName": &it.SamAccountName, "guidHash": &it.GUIDHash,
	}
	required := []string{"key", "label", "status"}
	switch typ {
	case Device:
		str["authName"] = &it.AuthName
		required = append(required, "authName")
	case SecurityGroupTag:
		required = append(required, "tagId")
	}
	for name, v := range fields {
		if bytes.Equal(v, []byte("null")) {
			return it, fmt.Errorf("%s is null", name)
		}
		if name == "tagId" && typ == SecurityGroupTag {
			// A tag id is a number or a string; the sources show both.
			var n json.Number
			var s string
			if json.Unmarshal(v, &n) != nil && (json.Unmarshal(v, &s) != nil || s == "") {
				return it, errors.New("tagId is not a number or string")
			}
			it.TagID = append(json.RawMessage(nil), v...)
			continue
		}
		p, ok := str[name]
		if !ok {
			return it, fmt.Errorf("unknown field %q", name)
		}
		if err := json.Unmarshal(v, p); err != nil {
			return it, fmt.Errorf("%s is not a string", name)
		}
	}
	for _, name := range required {
		if name == "tagId" {
			if len(it.TagID) == 0 {
				return it, errors.New("tagId missing")
			}
			continue
		}
		if *str[name] == "" {
			return it, fmt.Errorf("%s missing or empty", name)
		}
	}
	if it.Status != "active" && it.Status != "inactive" {
		return it, fmt.Errorf("status %q", it.Status)
	}
	return it, nil
}
