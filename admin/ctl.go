package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The control socket: a unix socket beside the store, through which admin
// commands reach a running dms serve (bbolt locks the store to one process).
// Its file permissions (0660, the store directory's group) are the access
// control; the peer's uid, read with SO_PEERCRED, names the caller.
//
// Protocol: one request per connection. The client sends one JSON object
// {"op": NAME, "args": {...}} and closes its write side; the server answers
// {"result": ...} or {"error": {...}} and closes.

// SocketPath is the control socket of the store at dbPath.
func SocketPath(dbPath string) string { return dbPath + ".sock" }

type ctlRequest struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args,omitempty"`
	// View is the view of the zones the request names (dms --view).
	View string `json:"view,omitempty"`
}

type ctlResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// maxRequest bounds one control request (a zone file of some 10 million
// records fits).
const maxRequest = 1 << 30

// ControlServer serves admin operations on a unix socket.
type ControlServer struct {
	s    *Service
	ln   *net.UnixListener
	path string
	wg   sync.WaitGroup
}

// ListenControl creates the control socket at path. A socket file left by
// a server that died is replaced: the caller holds the store's lock, so no
// other server can be using it.
func ListenControl(s *Service, path string) (*ControlServer, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: a file that is not a socket is in the way; move it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
	}
	old := syscall.Umask(0o117)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	return &ControlServer{s: s, ln: ln, path: path}, nil
}

// Serve answers requests until ctx ends or the listener is closed.
func (cs *ControlServer) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		cs.ln.Close()
	}()
	for {
		conn, err := cs.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				cs.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			cs.wg.Wait()
			return err
		}
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			cs.handle(ctx, conn)
		}()
	}
}

// Close stops accepting and removes the socket file.
func (cs *ControlServer) Close() error { return cs.ln.Close() }

func (cs *ControlServer) handle(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	caller := peerCaller(conn)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
	br := bufio.NewReader(io.LimitReader(conn, maxRequest))
	if peek, _ := br.Peek(len(opBackup) + 16); bytes.Contains(peek, []byte(`"`+opBackup+`"`)) {
		// A backup is streamed, not one JSON answer; it may take long
		// for a large store, so the deadline is the client's.
		_ = conn.SetDeadline(time.Time{})
		cs.streamBackup(ctx, caller, conn)
		return
	}
	resp := cs.answer(ctx, caller, br)
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Minute))
	_ = json.NewEncoder(conn).Encode(&resp)
}

// answer decodes one control request from r, runs it for caller and
// returns the response to send.
func (cs *ControlServer) answer(ctx context.Context, caller Caller, r io.Reader) (resp ctlResponse) {
	var req ctlRequest
	defer func() {
		// A fault in one operation must not take the server, and every
		// zone it answers for, down with it.
		if p := recover(); p != nil {
			cs.s.Panicked()
			cs.s.log.Error("panic in control request", "op", req.Op, "by", caller.ChangeBy(), "panic", p, "stack", string(debug.Stack()))
			resp = ctlResponse{Error: &Error{Code: CodeInternal, Message: fmt.Sprintf("internal error in %s; the server's log has the details", req.Op)}}
		}
	}()
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		resp.Error = &Error{Code: CodeBadInput, Message: "bad control request: " + err.Error()}
		return resp
	}
	start := time.Now()
	caller.View = req.View
	resp.Result, resp.Error = cs.s.Do(ctx, caller, req.Op, req.Args)
	lvl := slog.LevelDebug
	if resp.Error != nil {
		lvl = slog.LevelInfo
	}
	cs.s.log.LogAttrs(ctx, lvl, "control request", slog.String("op", req.Op), slog.String("by", caller.ChangeBy()),
		slog.Float64("seconds", time.Since(start).Seconds()), slog.Any("err", errOrNil(resp.Error)))
	return resp
}

func errOrNil(e *Error) any {
	if e == nil {
		return nil
	}
	return e.Message
}

// peerCaller names the user at the other end of the socket.
func peerCaller(conn *net.UnixConn) Caller {
	c := Caller{User: "unknown", Host: Hostname(), Sectag: SectagAdmin, unix: true}
	raw, err := conn.SyscallConn()
	if err != nil {
		return c
	}
	_ = raw.Control(func(fd uintptr) {
		cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		if err != nil {
			return
		}
		uid := strconv.Itoa(int(cred.Uid))
		c.User = "uid" + uid
		if u, err := user.LookupId(uid); err == nil {
			c.User = u.Username
		}
	})
	return c
}

// RemoteClient runs operations in a dms serve through its control socket.
type RemoteClient struct {
	path string
	// View is the view of the zones the calls name ("": the default).
	View string
}

// DialControl returns a client for the control socket at path, after
// checking that a server answers there. It fails with an error wrapping
// ErrNoServer when none does.
func DialControl(path string) (*RemoteClient, error) {
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	conn.Close()
	return &RemoteClient{path: path}, nil
}

// ErrNoServer: no dms serve answers on the control socket.
var ErrNoServer = errors.New("no server on the control socket")

// Call implements Client.
func (r *RemoteClient) Call(ctx context.Context, op string, args, result any) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.path)
	if err != nil {
		return &Error{Code: CodeNotRunning, Message: fmt.Sprintf("control socket %s: %v", r.path, err),
			Hint: "is dms serve running? without it, commands open the store themselves"}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	rawArgs, err := json.Marshal(args)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(conn).Encode(ctlRequest{Op: op, Args: rawArgs, View: r.View}); err != nil {
		return fmt.Errorf("control socket %s: send: %w", r.path, err)
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	var resp ctlResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return fmt.Errorf("control socket %s: no answer (did the server stop?): %w", r.path, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(resp.Result, result)
}

// Remote implements Client.
func (r *RemoteClient) Remote() bool { return true }

// Close implements Client.
func (r *RemoteClient) Close() error { return nil }
