package scimpath

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

// applyAlwaysSettling is ApplyPatch as it was before mayAffectPrimary:
// every operation snapshots the primary values and settles them.
func applyAlwaysSettling(res map[string]any, ops []Operation, rs *ResourceSchema) error {
	for i, op := range ops {
		err := checkValuePrimary(op)
		if err == nil {
			before := takePrimarySnapshot(res)
			if err = applyOp(res, op, rs); err == nil {
				err = settlePrimary(res, before)
			}
		}
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Detail = "operation " + strconv.Itoa(i+1) + ": " + e.Detail
			}
			return err
		}
	}
	return nil
}

// TestApplyPatchSkipsSnapshotAlike: skipping the primary snapshot for
// operations that cannot make a second primary changes no result or error.
func TestApplyPatchSkipsSnapshotAlike(t *testing.T) {
	docs := []string{
		`{"userName":"u","emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"home"}]}`,
		// stored before the one-primary rule: two primaries already
		`{"userName":"u","emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"home","primary":true}]}`,
		`{"userName":"u"}`,
		`{"userName":"u","phoneNumbers":[{"value":"1","primary":"True"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7"}}`,
	}
	ops := []string{
		`[{"op":"Replace","path":"displayName","value":"N"},{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@x"}]`,
		`[{"op":"add","path":"emails","value":[{"value":"c@x","type":"other"}]}]`,
		`[{"op":"replace","path":"emails","value":[{"value":"c@x","type":"other"}]}]`,
		`[{"op":"add","value":{"emails":[{"value":"c@x","type":"other"}],"nickName":"n"}}]`,
		`[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
		`[{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"h@x","type":"home"}}]`,
		`[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]`,
		`[{"op":"add","path":"emails","value":[{"value":"c@x","type":"other","Primary":true}]}]`,
		`[{"op":"add","value":{"emails.primary":true}}]`,
		`[{"op":"replace","path":"emails[primary eq true].value","value":"p@x"}]`,
		`[{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x"}]`,
		`[{"op":"add","path":"phoneNumbers","value":[{"value":"2","primary":true}]}]`,
		`[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"d"}]`,
	}
	rs := CoreUser()
	for _, d := range docs {
		for _, o := range ops {
			var list []Operation
			if err := json.Unmarshal([]byte(o), &list); err != nil {
				t.Fatal(err)
			}
			got, want := decode(t, d), decode(t, d)
			gerr, werr := ApplyPatch(got, list, &rs), applyAlwaysSettling(want, list, &rs)
			if !reflect.DeepEqual(gerr, werr) {
				t.Errorf("%s\n%s\nerror %v, want %v", d, o, gerr, werr)
				continue
			}
			if gerr == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("%s\n%s\n got %v\nwant %v", d, o, got, want)
			}
		}
	}
}
