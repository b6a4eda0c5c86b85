// Package httpapi is dms's HTTP JSON API for control panels: each login
// (HTTP basic auth) is confined to its sectag. Every route calls an admin
// operation through admin.Service.Do - the same functions, privileges and
// commit path as the CLI; the API adds no logic of its own beyond
// translating HTTP to operations and back.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/api"
)

// Options tune the API.
type Options struct {
	// MaxBody bounds request bodies (bytes); 0: 4 MiB.
	MaxBody int64
	// Registerer takes the API's metrics (nil: none).
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// LoginFailures and LoginWindow: a client with that many failed logins
	// within the window is refused (429) until the window has passed.
	LoginFailures int
	LoginWindow   time.Duration
	// LoginBackoff is how long a login waits, from the address it failed
	// from, after its first failure, doubling with each further one (0:
	// 1 s; negative: none).
	LoginBackoff time.Duration
}

// API is the HTTP handler.
type API struct {
	svc    *admin.Service
	opts   Options
	mux    *http.ServeMux
	routes []string
	spec   []byte
	log    *slog.Logger

	mu       sync.Mutex
	failures map[string][]time.Time // by sourceKey, userKey and pairKey
	now      func() time.Time       // nil: time.Now

	// Request rates (api_rate_*), following the store (setLimits).
	perClient, perLogin rateLimiter

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	badLogin prometheus.Counter
}

// handler answers one route for an authenticated caller: the status and
// a value to send as JSON (or raw bytes with a content type).
type handler func(c admin.Caller, r *http.Request) (int, any, error)

// stream is an answer the handler writes itself (a backup), returning
// its status.
type stream func(w http.ResponseWriter) int

// raw is a non-JSON answer.
type raw struct {
	contentType string
	body        []byte
	header      http.Header
}

// New builds the API on svc.
func New(svc *admin.Service, o Options) (*API, error) {
	if o.MaxBody <= 0 {
		o.MaxBody = 4 << 20
	}
	if o.LoginFailures <= 0 {
		o.LoginFailures = 5
	}
	if o.LoginWindow <= 0 {
		o.LoginWindow = 5 * time.Minute
	}
	if o.LoginBackoff == 0 {
		o.LoginBackoff = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	spec, err := api.JSON()
	if err != nil {
		return nil, err
	}
	a := &API{svc: svc, opts: o, mux: http.NewServeMux(), spec: spec, log: o.Log.With("component", "httpapi"),
		failures: map[string][]time.Time{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dms_api_requests_total", Help: "HTTP API requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dms_api_request_duration_seconds", Help: "HTTP API request durations by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}, []string{"route"}),
		badLogin: prometheus.NewCounter(prometheus.CounterOpts{Name: "dms_api_login_failures_total", Help: "HTTP API logins that failed."}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{a.requests, a.duration, a.badLogin} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	a.register()
	admin.WatchConfig(svc.DB(), a.setLimits)
	return a, nil
}

// Routes lists the registered routes ("GET /api/v1/zones").
func (a *API) Routes() []string { return a.routes }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handle registers a route; open routes need no login.
func (a *API) handle(pattern string, h handler, open bool) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := a.serve(w, r, h, open)
		a.requests.WithLabelValues(pattern, strconv.Itoa(code)).Inc()
		a.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
	})
}

func clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, h handler, open bool) (code int) {
	defer func() {
		// A fault is an internal error for the client, never a stack trace.
		if p := recover(); p != nil {
			a.svc.Panicked()
			a.log.Error("panic in API handler", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			code = writeError(w, http.StatusInternalServerError, "internal", "internal error", nil)
		}
	}()
	now := a.clock()
	client := clientAddr(r)
	if code, ok := a.admitClient(w, client, now); !ok {
		return code
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxBody)
	var c admin.Caller
	if !open {
		var ok bool
		if c, code, ok = a.login(w, r, client); !ok {
			return code
		}
		if code, ok := a.admitLogin(w, c, now); !ok {
			return code
		}
		// ?view= names the view of the zones the request is about
		// (split horizon); without it, the default view.
		c.View = r.URL.Query().Get("view")
	}
	return a.answer(w, r, h, c)
}

// login checks r's HTTP basic auth; false: it answered (401, 429, 503).
// The failure limits are applied before the password is looked at, so
// that no guess gets through them, right or wrong (a right one found in
// the login cache would tell a guesser so, at no cost).
func (a *API) login(w http.ResponseWriter, r *http.Request, client netip.Addr) (admin.Caller, int, bool) {
	user, pass, ok := r.BasicAuth()
	if wait := a.loginWait(client, user); wait > 0 {
		retryAfter(w, wait)
		return admin.Caller{}, writeError(w, http.StatusTooManyRequests, "rate_limited", "too many failed logins from "+client.String()+"; try again later", nil), false
	}
	if ok {
		c, err := a.svc.Authenticate(r.Context(), user, pass, client.String())
		if err == nil {
			return c, 0, true
		}
		if errors.Is(err, admin.ErrLoginBusy) {
			// Not a failure: the password was never checked.
			retryAfter(w, time.Second)
			return admin.Caller{}, writeError(w, http.StatusServiceUnavailable, "busy", err.Error(), nil), false
		}
		a.failed(client, user)
		a.badLogin.Inc()
		a.log.Warn("API login failed", "user", user, "client", client.String()) // never the password
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="dms", charset="UTF-8"`)
	return admin.Caller{}, writeError(w, http.StatusUnauthorized, "unauthorized", "log in with HTTP basic auth", nil), false
}

// answer runs h for c and writes its result.
func (a *API) answer(w http.ResponseWriter, r *http.Request, h handler, c admin.Caller) int {
	status, body, err := h(c, r)
	if err != nil {
		return a.writeOpError(w, r, err)
	}
	if st, ok := body.(stream); ok {
		return st(w)
	}
	if rb, ok := body.(raw); ok {
		for k, v := range rb.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", rb.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(rb.body)
		return status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
	return status
}

func (a *API) writeOpError(w http.ResponseWriter, r *http.Request, err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit), nil)
	}
	ae := admin.AsError(err)
	st := statusOf(ae.Code)
	msg := ae.Message
	if st == http.StatusInternalServerError {
		// The log has it; the client learns nothing of the inside.
		a.log.Error("API operation failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	var details any
	if len(ae.Problems) > 0 {
		details = ae.Problems
	}
	return writeError(w, st, ae.Code, msg, details)
}

// statusOf maps admin error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case admin.CodeBadInput, admin.CodeParse, "bad_json":
		return http.StatusBadRequest
	case admin.CodeAuth:
		return http.StatusUnauthorized
	case admin.CodeForbidden:
		return http.StatusForbidden
	case admin.CodeNotFound:
		return http.StatusNotFound
	case admin.CodeExists, admin.CodeStale, admin.CodeLocked, admin.CodeInUse, admin.CodeDeleted:
		return http.StatusConflict
	case admin.CodeCheck, admin.CodeSerial:
		return http.StatusUnprocessableEntity
	case admin.CodeNotRunning:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, details any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Message: msg, Details: details})
	return status
}

// source is what failed logins are counted by: the address, or for IPv6
// its /64 (one subscriber's many addresses count as one).
func source(client netip.Addr) netip.Addr {
	if client.Is6() {
		p, _ := client.Prefix(64)
		return p.Addr()
	}
	return client
}

// clock is the API's time (tests set now).
func (a *API) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// recent returns the failures of key within the window (dropping older).
func (a *API) recent(m map[string][]time.Time, key string, now time.Time) []time.Time {
	cut := now.Add(-a.opts.LoginWindow)
	list := m[key]
	for len(list) > 0 && list[0].Before(cut) {
		list = list[1:]
	}
	if len(list) == 0 {
		delete(m, key)
		return nil
	}
	m[key] = list
	return list
}

// Failed logins are counted by source (sourceKey), by login from
// anywhere (userKey), and by login from one source (pairKey).
func sourceKey(client netip.Addr) string { return source(client).String() }
func userKey(user string) string         { return "user:" + strings.ToLower(user) }
func pairKey(client netip.Addr, user string) string {
	return "pair:" + source(client).String() + " " + strings.ToLower(user)
}

// loginWait is how long a login of user from client must wait after
// failed ones (0: none). After each failure of that login from that
// source, a back-off doubling from LoginBackoff (1 s, 2 s, 4 s, ...: a
// guesser gets few tries a minute, a typo costs a second); keyed by login
// too, because a control panel's one address carries many logins, and
// one login's stale password must not stall the others. After
// LoginFailures from the source within the window, whatever the login,
// until the oldest leaves the window; and likewise for a login failed
// four times as often from anywhere (a spread-out guesser).
func (a *API) loginWait(client netip.Addr, user string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now, window, limit := a.clock(), a.opts.LoginWindow, a.opts.LoginFailures
	var until time.Time
	if list := a.recent(a.failures, sourceKey(client), now); len(list) >= limit {
		until = list[len(list)-limit].Add(window)
	}
	if user == "" {
		return max(until.Sub(now), 0)
	}
	if list := a.recent(a.failures, userKey(user), now); len(list) >= 4*limit {
		until = later(until, list[len(list)-4*limit].Add(window))
	}
	if list := a.recent(a.failures, pairKey(client, user), now); len(list) > 0 && a.opts.LoginBackoff > 0 {
		n := len(list)
		until = later(until, list[n-1].Add(min(a.opts.LoginBackoff<<min(n-1, 20), window)))
	}
	return max(until.Sub(now), 0)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (a *API) failed(client netip.Addr, user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock()
	if len(a.failures) > 100000 {
		// Bounded under a spray of sources: forget what is out of the
		// window, never the live counts.
		for k := range a.failures {
			a.recent(a.failures, k, now)
		}
	}
	for _, k := range []string{sourceKey(client), userKey(user), pairKey(client, user)} {
		a.failures[k] = append(a.failures[k], now)
	}
}

// do runs an admin operation for c and decodes its result into out.
func (a *API) do(ctx context.Context, c admin.Caller, op string, args, out any) error {
	in, err := json.Marshal(args)
	if err != nil {
		return err
	}
	res, aerr := a.svc.Do(ctx, c, op, in)
	if aerr != nil {
		return aerr
	}
	return json.Unmarshal(res, out)
}

// call is do returning the result as it comes.
func (a *API) call(c admin.Caller, r *http.Request, op string, args any) (json.RawMessage, error) {
	var res json.RawMessage
	return res, a.do(r.Context(), c, op, args, &res)
}

// decode reads a JSON body into v (unknown fields refused).
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &admin.Error{Code: "bad_json", Message: "the request body is not the JSON expected: " + err.Error()}
	}
	return nil
}

// Serve runs the API on addr until ctx ends: HTTPS (TLS 1.2 and later)
// with a certificate, plain HTTP only on a loopback address unless
// insecure. It returns the address it listens on.
func Serve(ctx context.Context, addr, certFile, keyFile string, insecure bool, h http.Handler, log *slog.Logger) (string, error) {
	if (certFile == "") != (keyFile == "") {
		return "", fmt.Errorf("give both --tls-cert and --tls-key, or neither")
	}
	if certFile == "" && !insecure {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return "", fmt.Errorf("--http-listen %s: %w", addr, err)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return "", fmt.Errorf("--http-listen %s: plain HTTP only on a loopback address; give --tls-cert and --tls-key, or --insecure to serve passwords in clear", addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := newHTTPServer(h)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		var err error
		if certFile != "" {
			err = srv.ServeTLS(ln, certFile, keyFile)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP API stopped", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Timeouts: a client that sends its headers or body too slowly, or reads
// the answer too slowly, is cut off.
var (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 120 * time.Second
)

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig(),
		ErrorLog:          nil,
	}
}
