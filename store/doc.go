/*
Package store keeps scimbridge's durable state in one bbolt file: SCIM
resources and their indexes, group memberships, per-connector queues (the
transactional outbox), shadows, id mappings, dead letters and connector
state.

# Transactions

Everything is read and written through a *Tx, which is valid only inside
the function given to DB.View (read-only), DB.Update (exclusive: runs once,
committed and synced when it returns) or DB.Batch (may share its commit
with concurrent callers, so the function may run more than once: it must be
idempotent and act only through tx; side effects go after Batch returns, or
in Tx.OnCommit). A SCIM write, its index entries and the queue entries it
owes the connectors (Sink.Enqueue receives the same Tx) commit together,
so an acknowledged write is never lost and never delivered without being
stored. The offline commands open the file with OpenReadOnly.

# Durability: the write-ahead log

bbolt commits to the page cache only; a commit is durable once its record
(every put, delete, bucket and sequence change, recorded by the bucket
wrappers of txlog.go) is flushed in the log next to the file (wal.go:
DATA.wal/, one segment per checkpoint). Update and Batch return after that
flush, and Tx.OnCommit's functions run then, in the caller's goroutine. A
commit is visible to readers a little earlier: a reader that sends what it
read out of the process calls DB.WaitDurable first. Open replays a log a
crash left (wal_recover.go); so does OpenReadOnly. Decision record 0007.

Every Get reports a record that is not stored as ErrNotFound (errors.Is);
a stored record that does not decode is a different error. Optional turns
ErrNotFound into (nil, nil) where absence is an ordinary state.

# Buckets

Keys are bytes; "+" is concatenation, seq an 8-byte big-endian integer,
typ a ResourceType ("User" or "Group"), c a connector's name.

	meta                  "schemaVersion" → seq (SchemaVersion); "logID" → the write-ahead log's id
	                      (16 random bytes, new at each start); "index/<name>/<typ>" → 1 once
	                      an index added after the file was first written is complete;
	                      "activityIndexed" → seq: the last act/log event filed in act/res and
	                      act/name (absent in a file from before layout 2: all are filed)
	res/<typ>             id → seq (creation sequence) + the resource JSON as stored
	                      (groups without members, users without groups, no password)
	order/<typ>           seq → id: the listing order (creation order)
	count                 typ → seq: number of resources, so a page needs no count
	idx/userName          Fold(userName) → user id (unique)
	idx/externalId/<typ>  externalId + "\x00" + id → empty (case exact, not unique)
	idx/displayName/Group Fold(displayName) + "\x00" + id → empty
	idx/email/User        Fold(emails[].value) + "\x00" + id → empty (every address, any type)
	members               groupID + "\x00" + memberID → member JSON (display, type, ...)
	memberOf              memberID + "\x00" + groupID → empty
	queue/<c>             seq → Entry JSON; the bucket's sequence is the last seq given
	qidx/<c>              typ + "/" + id + "/" + seq → empty
	shadow/<c>            typ + "/" + id → Shadow JSON
	map/<c>               typ + "/" + id → Mapping JSON (target id, fields delivered)
	rmap/<c>              typ + "/" + targetID → SCIM id
	dead/<c>              seq → DeadLetter JSON (a member failure: 1<<63 | the bucket's sequence)
	state/<c>             key → value (ConnectorState)
	act/log               seq → time (8, unix ns) + len(key) (2; top bit: names follow) + key
	                      ("typ/id") [+ uvarint count + (uvarint len + name)...] + event data
	                      (the activity log, written by package activitylog; data is opaque here;
	                      the names are what IndexActivity files in act/name)
	act/res               0x01 + typ + "/" + creation seq + seq → empty (a resource res/<typ> holds
	                      or act/gone remembers), 0x02 + typ + "/" + id + "/" + seq otherwise
	act/gone              "typ/id" → creation seq of a deleted resource that has events
	act/name              Fold(name) + "\x00" + "typ/id" → empty: a name a resource no longer has
	act/rname             "typ/id" + "\x00" + Fold(name) → empty (the same, by resource)
	act/erase             time (8, unix ns) + "typ/id" → empty: deleted users whose events'
	                      values are to be erased

# Invariants

Verify checks each of these and names every breach; nothing repairs.

  - Every res/<typ> record is at least 8 bytes, its JSON decodes and its "id"
    is its key; no two share a creation sequence; order/<typ> holds exactly
    each record's sequence → id; count/<typ> equals the number of records.
    Kept by Tx.CreateResource, UpdateResource and DeleteResource.
  - idx/userName maps every user's folded userName to it and holds nothing
    else; the externalId, displayName and email indexes hold exactly the
    values of the stored records. Kept by the same three methods, which
    derive the values from the JSON they store and refuse a userName
    another user holds (ConflictError) before changing anything. The email
    index of an older file is built by Open.
  - members and memberOf mirror each other, and every group with members
    exists. Kept by Tx.AddMember and RemoveMember (both directions in one
    call); removing the memberships of a deleted user or group is the
    caller's (scim), since it reports each one as a change.
  - queue/<c> and qidx/<c> hold the same entries, and each entry's seq is
    its key. Kept by Tx.Append and DeleteEntry.
  - map/<c> and rmap/<c> mirror each other. Kept by Tx.PutMapping and
    DeleteMapping.
  - shadow/<c> and dead/<c> values decode.
  - act/log's keys are contiguous (pruning deletes only from its oldest
    end, so its count is last - first + 1); each event decodes; every event
    up to meta "activityIndexed" (the watermark) is in act/res under its
    resource's prefix and none after it, act/res holds nothing else, and
    the watermark is neither past the log's sequence nor below its oldest
    event (pruning stops at the watermark); act/gone names only deleted
    resources with events; act/name and act/rname mirror each other and
    name only resources with events (filed or not). Kept by
    Tx.AppendActivity (act/log only), IndexActivity (files events after
    the watermark and moves it in the same transaction), PruneActivity,
    EraseActivity and DeleteResource (which moves a resource's prefix to
    act/gone). Readers (ActivityOf, HasActivity, ActivityResources) add
    the unindexed tail by scanning it.

Not checked: that a member id, a shadow or a mapping names a stored
resource.
*/
package store
