package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dmsdns.org/dms/zonedb"
)

// Backups and checks of the store. A backup is the whole bbolt file as of
// one read transaction (zonedb.DB.Backup): every zone with its history,
// the config, the TSIG secrets and the DNSSEC private keys, so only Admin
// may take one. Through the control socket it is streamed after a JSON
// line that says how many bytes follow (opBackup); the HTTP API streams it
// with a Content-Length.

// opBackup is the control socket's streamed operation.
const opBackup = "store.backup"

// Backup writes a consistent copy of the store to w; start learns its
// size before the bytes. A backup written whole is recorded for the
// dms_backup_last_success_timestamp_seconds metric.
func (s *Service) Backup(ctx context.Context, c Caller, w io.Writer, start func(zonedb.BackupInfo) error) (zonedb.BackupInfo, error) {
	if err := adminOnly(c, "take a backup (it holds every secret and private key)"); err != nil {
		return zonedb.BackupInfo{}, err
	}
	t0 := time.Now()
	// The last byte goes out only once the backup is recorded: whoever
	// has the whole file sees it in the metric.
	hw := &holdLast{w: w}
	info, err := s.db.Backup(hw, func(info zonedb.BackupInfo) error {
		hw.total = info.Bytes
		if start != nil {
			return start(info)
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	if err := s.db.NoteBackup(info.Time); err != nil {
		s.log.Warn("backup written, its time not recorded", "err", err)
	}
	if err := hw.release(); err != nil {
		return info, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "backup", slog.Int64("bytes", info.Bytes), slog.Int("zones", info.Zones),
		slog.String("by", c.ChangeBy()), slog.Float64("seconds", time.Since(t0).Seconds()))
	return info, nil
}

// holdLast passes a stream of total bytes on but its last byte, which
// release sends.
type holdLast struct {
	w       io.Writer
	total   int64
	written int64
	held    []byte
}

func (h *holdLast) Write(p []byte) (int, error) {
	n := len(p)
	if pass := h.total - 1 - h.written; int64(len(p)) > pass && pass >= 0 {
		h.held = append(h.held, p[pass:]...)
		p = p[:pass]
	}
	m, err := h.w.Write(p)
	h.written += int64(m)
	if err != nil {
		return m, err
	}
	return n, nil
}

func (h *holdLast) release() error {
	if len(h.held) == 0 {
		return nil
	}
	_, err := h.w.Write(h.held)
	h.held = nil
	return err
}

// Check verifies the live store (dms check): read-only, from one read
// transaction, safe while serving.
func (s *Service) Check(ctx context.Context, c Caller, _ struct{}) (*zonedb.VerifyReport, error) {
	if err := adminOnly(c, "check the store"); err != nil {
		return nil, err
	}
	return s.db.Verify()
}

// streamBackup answers opBackup on a control connection: a JSON line with
// the backup's size (or the error), then exactly that many bytes.
func (cs *ControlServer) streamBackup(ctx context.Context, caller Caller, conn net.Conn) {
	bw := bufio.NewWriterSize(conn, 1<<20)
	enc := json.NewEncoder(bw)
	started := false
	_, err := cs.s.Backup(ctx, caller, bw, func(info zonedb.BackupInfo) error {
		raw, _ := json.Marshal(info)
		started = true
		return enc.Encode(ctlResponse{Result: raw})
	})
	if err != nil && !started {
		_ = enc.Encode(ctlResponse{Error: AsError(err)})
	}
	if err != nil && started {
		// The client counts the bytes: a short stream is a failed backup.
		cs.s.log.Warn("backup stream cut", "by", caller.ChangeBy(), "err", err)
	}
	_ = bw.Flush()
}

// Backup streams a backup from the server into w; start learns its size
// before the bytes come.
func (r *RemoteClient) Backup(ctx context.Context, w io.Writer, start func(zonedb.BackupInfo) error) (zonedb.BackupInfo, error) {
	var info zonedb.BackupInfo
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.path)
	if err != nil {
		return info, &Error{Code: CodeNotRunning, Message: fmt.Sprintf("control socket %s: %v", r.path, err)}
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(ctlRequest{Op: opBackup}); err != nil {
		return info, fmt.Errorf("control socket %s: send: %w", r.path, err)
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	br := bufio.NewReaderSize(conn, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return info, fmt.Errorf("control socket %s: no answer (did the server stop?): %w", r.path, err)
	}
	var resp ctlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return info, fmt.Errorf("control socket %s: bad answer: %w", r.path, err)
	}
	if resp.Error != nil {
		return info, resp.Error
	}
	if err := json.Unmarshal(resp.Result, &info); err != nil {
		return info, err
	}
	if start != nil {
		if err := start(info); err != nil {
			return info, err
		}
	}
	n, err := io.Copy(w, io.LimitReader(br, info.Bytes))
	if err == nil && n != info.Bytes {
		err = fmt.Errorf("the server sent %d of %d bytes (it stopped?)", n, info.Bytes)
	}
	return info, err
}

// Backup implements the streamed backup on a store this process opened.
func (l *LocalClient) Backup(ctx context.Context, w io.Writer, start func(zonedb.BackupInfo) error) (zonedb.BackupInfo, error) {
	return l.S.Backup(ctx, l.Caller, w, start)
}

// Backuper is a client that can stream a backup.
type Backuper interface {
	Backup(ctx context.Context, w io.Writer, start func(zonedb.BackupInfo) error) (zonedb.BackupInfo, error)
}

// WatchBackups exports when the last whole backup of the store was taken
// (0: never), read at scrape time: an alert on its age finds a backup job
// that stopped.
func (m *Metrics) WatchBackups(db *zonedb.DB) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dms_backup_last_success_timestamp_seconds",
		Help: "When the last whole backup of the store was written (dms backup, GET /api/v1/backup), as a Unix time; 0 when never.",
	}, func() float64 {
		var t time.Time
		_ = db.View(func(v *zonedb.View) error { t = v.LastBackup(); return nil })
		if t.IsZero() {
			return 0
		}
		return float64(t.Unix())
	}))
}
