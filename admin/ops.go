package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// The operation table: every admin operation by name, with its request and
// result as JSON. The control socket, the local CLI path and (later) the
// HTTP API dispatch through it, so they cannot drift apart.

type opFunc func(s *Service, ctx context.Context, c Caller, args json.RawMessage) (any, error)

func op[Req, Resp any](f func(*Service, context.Context, Caller, Req) (Resp, error)) opFunc {
	return func(s *Service, ctx context.Context, c Caller, args json.RawMessage) (any, error) {
		var req Req
		if len(args) > 0 && string(args) != "null" {
			dec := json.NewDecoder(bytes.NewReader(args))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return nil, usagef("bad request: %v", err)
			}
		}
		return f(s, ctx, c, req)
	}
}

var ops = map[string]opFunc{
	"zone.create":    op((*Service).ZoneCreate),
	"zone.load":      op((*Service).ZoneLoad),
	"zone.show":      op((*Service).ZoneShow),
	"zone.replace":   op((*Service).ZoneReplace),
	"zone.info":      op((*Service).ZoneInfo),
	"zone.list":      op((*Service).ZoneList),
	"zone.history":   op((*Service).ZoneHistory),
	"zone.diff":      op((*Service).ZoneDiff),
	"zone.rollback":  op((*Service).ZoneRollback),
	"zone.set":       op((*Service).ZoneSet),
	"zone.delete":    op((*Service).ZoneDelete),
	"zone.undelete":  op((*Service).ZoneUndelete),
	"zone.destroy":   op((*Service).ZoneDestroy),
	"zone.serial":    op((*Service).ZoneSerial),
	"zone.set_ref":   op((*Service).ZoneSetRef),
	"record.add":     op((*Service).RecordAdd),
	"record.delete":  op((*Service).RecordDelete),
	"config.show":    op((*Service).ConfigShow),
	"store.check":    op((*Service).Check),
	"cluster.status": op((*Service).ClusterStatus),
	"config.set":     op((*Service).ConfigSet),
	"ref.create":     op((*Service).RefCreate),
	"ref.list":       op((*Service).RefList),
	"ref.rename":     op((*Service).RefRename),
	"ref.delete":     op((*Service).RefDelete),

	"tsig.create": op((*Service).TSIGCreate),
	"tsig.import": op((*Service).TSIGImport),
	"tsig.list":   op((*Service).TSIGList),
	"tsig.show":   op((*Service).TSIGShow),
	"tsig.delete": op((*Service).TSIGDelete),
	"tsig.policy": op((*Service).TSIGUpdatePolicy),

	"sg.create": op((*Service).SGCreate),
	"sg.set":    op((*Service).SGSet),
	"sg.show":   op((*Service).SGShow),
	"sg.list":   op((*Service).SGList),
	"sg.delete": op((*Service).SGDelete),
	"sg.rename": op((*Service).SGRename),

	"server.create":      op((*Service).ServerCreate),
	"server.show":        op((*Service).ServerShow),
	"server.list":        op((*Service).ServerList),
	"server.enable":      op((*Service).ServerEnable),
	"server.disable":     op((*Service).ServerDisable),
	"server.rename":      op((*Service).ServerRename),
	"server.move":        op((*Service).ServerMove),
	"server.set_address": op((*Service).ServerSetAddress),
	"server.set":         op((*Service).ServerSet),
	"server.delete":      op((*Service).ServerDelete),
	"server.config":      op((*Service).ServerConfig),

	"status": op((*Service).Status),

	"dnssec.enable":   op((*Service).DNSSECEnable),
	"dnssec.disable":  op((*Service).DNSSECDisable),
	"dnssec.keys":     op((*Service).DNSSECKeys),
	"dnssec.import":   op((*Service).DNSSECImport),
	"dnssec.rollover": op((*Service).DNSSECRollover),
	"dnssec.ds_seen":  op((*Service).DNSSECDSSeen),

	"import.bind":        op((*Service).ImportBind),
	"zone.check":         op((*Service).ZoneCheck),
	"zone.notify":        op((*Service).ZoneNotify),
	"zone.update_rrs":    op((*Service).ZoneUpdate),
	"zone.nuke":          op((*Service).ZoneNuke),
	"zone.copy":          op((*Service).ZoneCopy),
	"zone.drop_history":  op((*Service).ZoneDropHistory),
	"zone.ttl":           op((*Service).ZoneTTL),
	"record.find":        op((*Service).RecordFind),
	"pending":            op((*Service).Pending),
	"view.create":        op((*Service).ViewCreate),
	"view.set":           op((*Service).ViewSet),
	"view.delete":        op((*Service).ViewDelete),
	"view.show":          op((*Service).ViewShow),
	"view.list":          op((*Service).ViewList),
	"sectag.create":      op((*Service).SectagCreate),
	"sectag.delete":      op((*Service).SectagDelete),
	"sectag.list":        op((*Service).SectagList),
	"zone.sectag_list":   op((*Service).ZoneSectagList),
	"zone.sectag_change": op((*Service).ZoneSectagChange),

	"vacuum":      op((*Service).Vacuum),
	"zone.lock":   op((*Service).ZoneLockTake),
	"zone.unlock": op((*Service).ZoneUnlock),
	"event.list":  op((*Service).EventList),
	"event.show":  op((*Service).EventShow),

	"api.user_add":    op((*Service).APIUserAdd),
	"api.user_passwd": op((*Service).APIUserPasswd),
	"api.user_list":   op((*Service).APIUserList),
	"api.user_delete": op((*Service).APIUserDelete),

	"zone.rrsets":       op((*Service).ZoneRRsets),
	"zone.rrsets_patch": op((*Service).ZoneRRsetsPatch),

	"zone.set_sg": op((*Service).ZoneSetSG),
	"zone.alt_sg": op((*Service).ZoneAltSG),
}

// Do runs operation name with JSON arguments and returns the JSON result.
// Errors come back as *Error.
func (s *Service) Do(ctx context.Context, c Caller, name string, args json.RawMessage) (json.RawMessage, *Error) {
	f, ok := ops[name]
	if !ok {
		return nil, &Error{Code: CodeUnknownOp, Message: fmt.Sprintf("unknown operation %q", name),
			Hint: "the server and this dms may be different versions"}
	}
	c = s.cliRole(c)
	if err := helpdeskAllowed(c, name); err != nil {
		return nil, AsError(err)
	}
	if err := allowed(c, name); err != nil {
		return nil, AsError(err)
	}
	// In a cluster, a request sees the whole cluster's commits, not only
	// those this node applied so far.
	if err := s.db.Sync(); err != nil {
		return nil, AsError(err)
	}
	res, err := f(s, ctx, c, args)
	if err != nil {
		return nil, AsError(err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return nil, AsError(err)
	}
	return out, nil
}

// Client runs admin operations, in this process or in a running server.
type Client interface {
	// Call runs operation op with args and decodes its result into result
	// (which may be nil). Operation errors are *Error.
	Call(ctx context.Context, op string, args, result any) error
	// Remote reports whether the operations run in a dms serve process.
	Remote() bool
	Close() error
}

// LocalClient runs operations on a store this process opened.
type LocalClient struct {
	S      *Service
	Caller Caller
}

// Call implements Client. It goes through the same JSON encoding as the
// control socket, so both paths behave the same.
func (l *LocalClient) Call(ctx context.Context, op string, args, result any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	out, aerr := l.S.Do(ctx, l.Caller, op, raw)
	if aerr != nil {
		return aerr
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(out, result)
}

// Remote implements Client.
func (l *LocalClient) Remote() bool { return false }

// Close closes the store.
func (l *LocalClient) Close() error { return l.S.db.Close() }
