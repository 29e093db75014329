// Package batch runs bulk password changes that never lose a password.
//
// A run has two phases. The plan phase (Plan, or Run with an Input) reads the
// input once, as a stream, validates every row and writes it into a new
// journal, which is written unnamed (Linux) or aside and linked into place
// only when complete;
// if any row is invalid no journal appears and nothing is sent.
// The run phase (Resume, or the rest of Run) streams the rows back from the
// journal and sends them through an injected executor with bounded
// concurrency per profile (which may follow a paced server's limit, see
// RunConfig.Workers) and an optional rate limit. Before a row's request
// is sent, its password is on disk in the journal; after the reply, its
// outcome is. Killing the process at any moment (kill -9, power loss) loses
// nothing: Resume skips rows with an outcome, sends rows that had an intent
// but no outcome again with the same password (a password change is
// idempotent) and sends the rest. At the end the journal holds, for every
// row, the password the server now has; ExportSecrets writes it out as CSV
// (and says ErrIncomplete while some rows are not final), WriteSecretsFile
// writes it to a new file only when every row is final.
//
// With a Deliver function (cpctl's --secrets-command) every changed row's
// password is also handed on, one row at a time, after its outcome is
// journalled; each try is journalled too, and a crash or a failure leaves
// the row owed a delivery, which the next Resume makes again: delivery is
// at least once.
//
// The package knows nothing about cPanel, HTTP or terminals: the caller
// supplies Exec (one password change) and, optionally, Generate and
// Deliver.
//
// # Journal format
//
// The journal is a JSON Lines file, one record per line, created exclusively
// with mode 0600 (it holds passwords: Resume refuses a journal that group or
// others may access). Every record has a type "t". In order:
//
//	{"t":"header","v":3,"kind":"account","created":"2026-11-29T20:00:00.000Z","meta":{"profile":"prod","api":"whmapi1"}}
//	{"t":"row","seq":1,"line":2,"target":"bob","owner":"reseller1","profile":"prod","password":"given in the input"}
//	...one row record per input row; owner, profile and password only when present...
//	{"t":"planned","rows":1000}
//	{"t":"deliver","at":"..."}
//	{"t":"intent","seq":1,"attempt":1,"password":"the password about to be sent","at":"..."}
//	{"t":"outcome","seq":1,"line":2,"target":"bob","owner":"reseller1","attempt":1,"state":"applied","ok":true,"exit":0,"msg":"Password changed for user “bob”.","services":["system","ftp","mail"],"verified":true,"at":"..."}
//	{"t":"delivered","seq":1,"target":"bob","attempt":1,"state":"applied","at":"..."}
//	{"t":"delivery-failed","seq":2,"target":"carol","attempt":1,"state":"applied","msg":"secrets-command failed: exit status 1: ...","at":"..."}
//
// The records:
//
//   - header: format version v (readers refuse a newer one), the kind of run
//     (account, ftp, email, mysql, postgresql, webdisk, or mixed), its
//     creation time and meta, the caller's opaque
//     description of the run (profile, API, options) that a resume gets back
//     through ReadHeader. Meta must not hold credentials.
//   - row: one per input row, seq counting from 1 in input order, line the
//     input line it came from. A row planned from a selection on the server
//     (PlanRows) has no input line: line is its seq, and source says which
//     listing named it ("listaccts", "Email/list_pops of bob"). In a run of
//     kind "mixed" (`cpctl rotate`), every row names its own kind (account,
//     ftp, email, mysql, postgresql, webdisk), and so do its outcomes; the
//     rows of a run of one kind name none. A row that breaks this makes the
//     journal damaged: a password is never changed as another kind than it
//     was planned as. A build from before mixed runs refuses their header
//     ("unknown kind"), so it cannot resume one as a run of one kind; the
//     source field is new too, and older builds ignore it.
//   - planned: the plan is complete and holds rows rows. Plans are linked
//     into place whole, so a journal always has it; one without it (written
//     by hand, or damaged) cannot be resumed.
//   - intent: written and fsync'd before the row's request is sent. It
//     carries the password sent; a generated password exists nowhere else. A
//     row sent again after a crash has one intent per attempt, always with the
//     same password.
//   - outcome: what became of the attempt, as the executor decided it: state
//     (pkg/fate: applied, refused, not-sent, unknown), auth and network (which
//     pick the exit code), class, msg, services, and verified when the
//     executor checked the new password. ok and exit are derived from the
//     state for people reading the file; readers go by the state. Applied
//     and refused rows are final, but for a refusal with auth set (the
//     credentials or the permission were refused, so the change did not
//     run); not-sent and unknown rows, and those, are sent again, with the
//     same password, on resume. Once an attempt was unknown (its
//     reply lost) the row stays "maybe applied", and not final, until an
//     attempt is applied, whatever later attempts say. A state this build
//     does not know reads as unknown. Target, owner and profile are repeated
//     so the record reads on its own. found_owner, when present, is the
//     owner the executor found for a row that named none (cpctl looks it
//     up through WHM); the export, journal show and the deliveries use it
//     in place of the row's empty owner. Older builds ignore the key, and
//     outcomes without it read as before.
//   - deliver: from here on the journal's changed rows are delivered (a run
//     or resume was given Deliver). Written once, durably, before any row
//     of that run is sent; a journal holding it is resumed only with
//     Deliver.
//   - delivered, delivery-failed: one try at handing a row's password on,
//     written after the row's outcome; state is the row's as delivered,
//     applied or unknown (maybe applied), and msg why a try failed (never
//     the password). A row is owed a delivery while it is applied and not
//     delivered as applied, or maybe applied and not delivered at all; a
//     row delivered as maybe applied is delivered again once applied.
//
// Format 3 adds the delivery records; a format-2 reader would take them
// for damage, so the version says a newer build wrote the journal. Journals
// of formats 1 and 2 are read and resumed, and delivered from when a resume
// has Deliver (records of format 3 are appended; their header keeps its
// version).
//
// Format 1 (the release before typed states) wrote outcomes without a
// state; they are read by ok and exit as that release read them: ok is
// applied, 1 refused, 3 refused (credentials), 2 not-sent, 4 unknown. A
// format-1 journal resumes; the records appended to it are format 2's.
//
// When a run is interrupted (its context cancelled), rows in flight finish
// and are recorded; rows whose intents are durable but that were never sent
// get an outcome of state not-sent and class "interrupted", so that only
// rows whose request may have been written (after a crash) count as in
// flight.
//
// Intents and outcomes of concurrent rows interleave in completion order. A
// last line cut short by a crash is cut away when the journal is resumed; it
// was never acknowledged, so no row was sent on its strength. So is
// everything from the first unreadable line on, even when readable records
// follow it: the journal is only appended to and every acknowledged record
// was synced, so nothing at or after a hole was acknowledged. To find which
// password an account has, take the password of the last intent of its row
// whose outcome is ok (or run `cpctl journal export`).
//
// # Durability and speed
//
// Intents are written by one committer goroutine with group commit: every
// intent that arrives while the previous fsync runs goes into the next write
// and the next single fsync, and all their senders are released together.
// Outcomes ride along in the same writes without anyone waiting for them
// (or are flushed within 50 ms when no intent follows; an outcome lost in a
// crash only means its row is sent again with the same password). So
// a run at concurrency N pays about one fsync per N rows, and no row is ever
// sent before its intent is on disk.
package batch
