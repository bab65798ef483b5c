package store

import (
	bolt "go.etcd.io/bbolt"
)

// mergeBucketList puts the list of top-level buckets back on one page when
// it has split into small pieces, and reports whether it changed the file.
//
// Every commit rewrites the page of the list that names each bucket it
// changed, and the list's branch page above them when it has split: on the
// fresh file of the PATCH benchmark, three of the commit's fifteen pages
// instead of one. The list splits early in a file's life, while small
// buckets are stored inline in it (up to a quarter page each), and bbolt
// never joins the pieces again once those buckets outgrow the list: it
// merges a page only when a key was deleted from it. So this deletes one:
// a bucket created and dropped next to each name marks every piece, and
// bbolt's commit merges each piece under a quarter page into its
// neighbour, and drops the branch when one page is left. A list too big
// for one page stays split (bbolt splits it again as it writes it).
func mergeBucketList(tx boltTx) (bool, error) {
	if !bucketListSplit(tx.tx) {
		return false, nil
	}
	var names [][]byte
	if err := tx.ForEach(func(name []byte, _ *bucket) error {
		names = append(names, append([]byte(nil), name...))
		return nil
	}); err != nil {
		return false, err
	}
	for _, name := range names {
		// The least key after name, so it lands on name's page.
		next := append(name, 0)
		if tx.Bucket(next) != nil {
			continue
		}
		if _, err := tx.CreateBucket(next); err != nil {
			return false, err
		}
		if err := tx.DeleteBucket(next); err != nil {
			return false, err
		}
	}
	return true, nil
}

// bucketListSplit reports whether the list of top-level buckets spans
// more than one page.
func bucketListSplit(tx *bolt.Tx) bool {
	root := tx.Cursor().Bucket().Root()
	info, err := tx.Page(int(root))
	return err == nil && info != nil && info.Type == "branch"
}

// bucketListCheckEvery is how many Updates pass between two looks at the
// bucket list: a look is one page read, a merge one commit of its own.
const bucketListCheckEvery = 256

// mergeBucketList runs mergeBucketList in a commit of its own. A failure
// changes nothing and the next check tries again, so it is not reported.
func (db *DB) mergeBucketList() {
	_ = db.update(func(tx boltTx) error {
		_, err := mergeBucketList(tx)
		return err
	})
}
