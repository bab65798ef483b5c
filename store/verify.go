package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

// Verify checks that the data file agrees with itself: every resource is
// readable and listed once in creation order and in the counts; every
// index entry names a resource that holds the indexed value, and every
// indexed value has its entry; memberships are recorded in both
// directions for groups that exist; queue entries, their index, id
// mappings (both ways), shadows and dead letters decode. It returns one
// line per problem (at most limit; 0 means no limit) and the number of
// problems found.
//
// Nothing here repairs: a problem means a bug or a damaged file, and the
// lines say where to look. It reads everything once, so on a large store
// it is a long read transaction (seconds at 100,000 users).
func (tx *Tx) Verify(limit int) (problems []string, total int) {
	v := &verifier{tx: tx, limit: limit}
	for _, typ := range []string{TypeUser, TypeGroup} {
		v.resources(typ)
	}
	v.uniqueIndex()
	v.multiIndex(IndexExternalID, TypeUser)
	v.multiIndex(IndexExternalID, TypeGroup)
	v.multiIndex(IndexDisplayName, TypeGroup)
	if tx.IndexReady(IndexEmail, TypeUser) { // built at start-up for older files
		v.emailIndex()
	}
	v.memberships()
	v.activity()
	for _, c := range v.connectors() {
		v.queue(c)
		v.mappings(c)
		v.decodes(shadowBucket(c), func(b []byte) error { var s Shadow; return json.Unmarshal(b, &s) })
		v.decodes(deadBucket(c), func(b []byte) error { var d DeadLetter; return json.Unmarshal(b, &d) })
	}
	return v.problems, v.total
}

type verifier struct {
	tx       *Tx
	limit    int
	problems []string
	total    int
	docs     map[string]map[string]map[string]any // type -> id -> the fields indexes use
}

func (v *verifier) report(format string, args ...any) {
	v.total++
	if v.limit <= 0 || len(v.problems) < v.limit {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

// resources checks res/<typ> against order/<typ> and count, and keeps
// each resource's indexed attributes for the index checks.
func (v *verifier) resources(typ string) {
	if v.docs == nil {
		v.docs = map[string]map[string]map[string]any{}
	}
	docs := map[string]map[string]any{}
	v.docs[typ] = docs
	res, order := v.tx.btx.Bucket(resBucketName(typ)), v.tx.btx.Bucket(orderBucketName(typ))
	seqs := map[uint64]string{}
	if res != nil {
		_ = res.ForEach(func(k, rec []byte) error {
			id := string(k)
			if len(rec) < 8 {
				v.report("%s %s: record of %d bytes has no sequence", typ, id, len(rec))
				return nil
			}
			seq := binary.BigEndian.Uint64(rec[:8])
			var doc struct {
				ID          any `json:"id"`
				UserName    any `json:"userName"`
				DisplayName any `json:"displayName"`
				ExternalID  any `json:"externalId"`
				Emails      any `json:"emails"`
			}
			if err := json.Unmarshal(rec[8:], &doc); err != nil {
				v.report("%s %s: stored JSON is unreadable: %v", typ, id, err)
				return nil
			}
			if doc.ID != id {
				v.report("%s %s: stored id is %v", typ, id, doc.ID)
			}
			if other, dup := seqs[seq]; dup {
				v.report("%s %s and %s share creation sequence %d", typ, other, id, seq)
			}
			seqs[seq] = id
			if order == nil || string(order.Get(seqKey(seq))) != id {
				v.report("%s %s: missing from the listing order (sequence %d)", typ, id, seq)
			}
			docs[id] = map[string]any{"userName": doc.UserName, "displayName": doc.DisplayName, "externalId": doc.ExternalID, "emails": doc.Emails}
			return nil
		})
	}
	if order != nil {
		_ = order.ForEach(func(k, id []byte) error {
			if len(k) != 8 {
				v.report("order/%s: key %x is not a sequence", typ, k)
			} else if seqs[binary.BigEndian.Uint64(k)] != string(id) {
				v.report("order/%s: sequence %d names %s, which is not stored under it", typ, binary.BigEndian.Uint64(k), id)
			}
			return nil
		})
	}
	if n := v.tx.CountResources(typ); n != len(docs) {
		v.report("count of %s is %d, but %d are stored", typ, n, len(docs))
	}
}

// uniqueIndex checks idx/userName both ways.
func (v *verifier) uniqueIndex() {
	users := v.docs[TypeUser]
	idx := v.tx.btx.Bucket(bucketUserName)
	for id, doc := range users {
		name, ok := doc["userName"].(string)
		if !ok {
			v.report("User %s has no userName", id)
			continue
		}
		if idx == nil || string(idx.Get([]byte(Fold(name)))) != id {
			v.report("User %s: userName %q is not indexed to it", id, name)
		}
	}
	if idx == nil {
		return
	}
	_ = idx.ForEach(func(k, id []byte) error {
		doc, ok := users[string(id)]
		if !ok {
			v.report("idx/userName: %q names user %s, which does not exist", k, id)
		} else if name, _ := doc["userName"].(string); Fold(name) != string(k) {
			v.report("idx/userName: %q names user %s, whose userName is %q", k, id, name)
		}
		return nil
	})
}

// multiIndex checks a value + "\x00" + id index both ways.
func (v *verifier) multiIndex(index, typ string) {
	docs := v.docs[typ]
	idx := v.tx.btx.Bucket(multiBucketName(index, typ))
	for id, doc := range docs {
		val, _ := doc[index].(string)
		if val == "" {
			continue
		}
		if idx == nil || idx.Get(multiKey(index, val, id)) == nil {
			v.report("%s %s: %s %q is not indexed", typ, id, index, val)
		}
	}
	if idx == nil {
		return
	}
	_ = idx.ForEach(func(k, _ []byte) error {
		val, id, ok := bytes.Cut(k, []byte{0})
		doc, exists := docs[string(id)]
		switch {
		case !ok:
			v.report("idx/%s/%s: key %q has no id", index, typ, k)
		case !exists:
			v.report("idx/%s/%s: %q names %s, which does not exist", index, typ, val, id)
		default:
			if cur, _ := doc[index].(string); !bytes.Equal(multiKey(index, cur, string(id)), k) {
				v.report("idx/%s/%s: %q names %s, whose %s is %q", index, typ, val, id, index, cur)
			}
		}
		return nil
	})
}

// emailIndex checks idx/email/User both ways: every address of every user
// (folded), and nothing else.
func (v *verifier) emailIndex() {
	want := map[string]bool{}
	for id, doc := range v.docs[TypeUser] {
		list, _ := doc["emails"].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if val, ok := m["value"].(string); ok && val != "" {
				want[string(multiKey(IndexEmail, val, id))] = true
			}
		}
	}
	idx := v.tx.btx.Bucket(multiBucketName(IndexEmail, TypeUser))
	for k := range want {
		if idx == nil || idx.Get([]byte(k)) == nil {
			val, id, _ := strings.Cut(k, "\x00")
			v.report("User %s: email %q is not indexed", id, val)
		}
	}
	if idx == nil {
		return
	}
	_ = idx.ForEach(func(k, _ []byte) error {
		if !want[string(k)] {
			val, id, _ := bytes.Cut(k, []byte{0})
			v.report("idx/email/User: %q names %s, which has no such address", val, id)
		}
		return nil
	})
}

// memberships checks that members and memberOf mirror each other and
// that every group with members exists.
func (v *verifier) memberships() {
	members, of := v.tx.btx.Bucket(bucketMembers), v.tx.btx.Bucket(bucketMemberOf)
	groups := v.docs[TypeGroup]
	if members != nil {
		_ = members.ForEach(func(k, _ []byte) error {
			g, m, ok := bytes.Cut(k, []byte{0})
			if !ok {
				v.report("members: key %q has no member id", k)
				return nil
			}
			if _, exists := groups[string(g)]; !exists {
				v.report("members: group %s (member %s) does not exist", g, m)
			}
			if of == nil || of.Get(pairKey(string(m), string(g))) == nil {
				v.report("members: %s in group %s is missing from memberOf", m, g)
			}
			return nil
		})
	}
	if of != nil {
		_ = of.ForEach(func(k, _ []byte) error {
			m, g, ok := bytes.Cut(k, []byte{0})
			if !ok || members == nil || members.Get(pairKey(string(g), string(m))) == nil {
				v.report("memberOf: %s in group %s is missing from members", m, g)
			}
			return nil
		})
	}
}

// connectors lists the connectors that have any state in the file.
func (v *verifier) connectors() []string {
	seen := map[string]bool{}
	var out []string
	_ = v.tx.btx.ForEach(func(name []byte, _ *bucket) error {
		for _, p := range []string{"queue/", "qidx/", "map/", "rmap/", "shadow/", "dead/"} {
			if c, ok := strings.CutPrefix(string(name), p); ok && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		return nil
	})
	return out
}

// queue checks that queue/<c> and its index qidx/<c> hold the same entries.
func (v *verifier) queue(c string) {
	q, idx := v.tx.btx.Bucket(queueBucket(c)), v.tx.btx.Bucket(idxBucket(c))
	indexed := 0
	if idx != nil {
		_ = idx.ForEach(func(k, _ []byte) error {
			indexed++
			if len(k) < 9 || q == nil || q.Get(k[len(k)-8:]) == nil {
				v.report("qidx/%s: %q names no queue entry", c, k)
			}
			return nil
		})
	}
	if q == nil {
		return
	}
	entries := 0
	_ = q.ForEach(func(k, b []byte) error {
		entries++
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			v.report("queue/%s: entry %x is unreadable: %v", c, k, err)
			return nil
		}
		if !bytes.Equal(seqKey(e.Seq), k) {
			v.report("queue/%s: entry %x says it is sequence %d", c, k, e.Seq)
		}
		if idx == nil || idx.Get(idxKey(e.Type, e.ID, e.Seq)) == nil {
			v.report("queue/%s: entry %d (%s) is missing from qidx", c, e.Seq, e.Key())
		}
		return nil
	})
	if entries != indexed {
		v.report("queue/%s holds %d entries, qidx/%s %d", c, entries, c, indexed)
	}
}

// mappings checks that map/<c> and rmap/<c> mirror each other.
func (v *verifier) mappings(c string) {
	m, r := v.tx.btx.Bucket(mapBucket(c)), v.tx.btx.Bucket(rmapBucket(c))
	if m != nil {
		_ = m.ForEach(func(k, b []byte) error {
			var mp Mapping
			if err := json.Unmarshal(b, &mp); err != nil {
				v.report("map/%s: %s is unreadable: %v", c, k, err)
				return nil
			}
			typ, id, _ := strings.Cut(string(k), "/")
			if mp.TargetID != "" && (r == nil || string(r.Get([]byte(typ+"/"+mp.TargetID))) != id) {
				v.report("map/%s: %s maps to target id %s, but that id maps back to %q", c, k, mp.TargetID, lookup(r, typ+"/"+mp.TargetID))
			}
			return nil
		})
	}
	if r != nil {
		_ = r.ForEach(func(k, id []byte) error {
			typ, tid, _ := strings.Cut(string(k), "/")
			var mp Mapping
			if m == nil || json.Unmarshal(m.Get([]byte(typ+"/"+string(id))), &mp) != nil || mp.TargetID != tid {
				v.report("rmap/%s: target %s names %s/%s, whose mapping does not name it", c, k, typ, id)
			}
			return nil
		})
	}
}

func lookup(b *bucket, key string) string {
	if b == nil {
		return ""
	}
	return string(b.Get([]byte(key)))
}

// decodes checks that every value of the bucket decodes.
func (v *verifier) decodes(name []byte, decode func([]byte) error) {
	b := v.tx.btx.Bucket(name)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, val []byte) error {
		if err := decode(val); err != nil {
			v.report("%s: %q is unreadable: %v", name, k, err)
		}
		return nil
	})
}
