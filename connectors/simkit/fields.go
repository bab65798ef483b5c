package simkit

// FieldSim is a Sim that also shows each user's fields as the target
// holds them, so an end-to-end test can compare them with SCIM's final
// values (test/story). Keys are the users' TargetIDs (as Users reports
// them); field names are the target's, as the connector's default mapping
// names them.
type FieldSim interface {
	Sim
	UserFields() map[string]map[string]string
}
