package treezorsim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpclient"
)

// Simulator is an in-memory Treezor sandbox. It is safe for concurrent use.
type Simulator struct {
	cfg        Config
	log        *zap.Logger
	presignKey []byte
	client     *http.Client

	ctx    context.Context // canceled by Close: stops deliveries, timers and hanging calls
	cancel context.CancelFunc
	wg     sync.WaitGroup // delivery goroutines, KYC timers and the state saver
	busy   busyCounter    // queued deliveries plus scheduled automatic KYC decisions
	saver  *stateSaver    // nil without Config.StateFile

	mu         sync.Mutex
	closed     bool
	dirty      bool // changed since the last save (with a StateFile)
	rng        *mrand.Rand
	chaos      Chaos
	variants   WebhookVariants // delivery variants of webhooks emitted from now on
	nextSeq    uint64          // sequence of queued deliveries
	receivers  receivers       // webhook URLs, in turn
	nextNumID  int64
	tokens     map[string]token
	users      map[string]*user
	userOrder  []string
	idents     map[string]*identification
	identOrder []string
	documents  map[string]*document
	accessTags map[accessTagKey]storedAnswer
	queues     map[string][]outgoing // per-user ordered delivery queues
	active     map[string]bool       // users whose queue has a running goroutine
	deliveries map[string][]Delivery
	decisions  []decisionRecord // recent KYC decisions, for the desk
	counters   counters

	routeFaults map[faultKey]RouteFault // by Handler pattern and user (SetRouteFault)
}

// New returns a simulator. Invalid settings are clamped or defaulted (see Config.Validate).
// A nil logger logs nothing. Call Close to stop webhook delivery.
//
// With a StateFile, New is Open that cannot fail: when the file cannot be loaded, New logs
// the error and runs in memory, leaving the file untouched. Use Open to get the error.
func New(cfg Config, logger *zap.Logger) *Simulator {
	if logger == nil {
		logger = zap.NewNop()
	}
	s, err := Open(cfg, logger)
	if err == nil {
		return s
	}
	logger.Error("treezor simulator state not loaded: running in memory, the state file is left untouched", zap.Error(err))
	cfg.StateFile = ""
	return newSimulator(cfg, logger)
}

// Open returns a simulator like New. With a StateFile it loads the state saved by an
// earlier simulator (a missing file is created empty), resumes the delivery of the
// webhooks that were not answered 2xx and the scheduled automatic KYC decisions, and
// saves every later change. It fails when the file cannot be read, decoded or written.
func Open(cfg Config, logger *zap.Logger) (*Simulator, error) {
	s := newSimulator(cfg, logger)
	if s.cfg.StateFile == "" {
		return s, nil
	}
	loaded, err := s.loadState()
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.startPersistence(loaded)
	return s, nil
}

// newSimulator returns an empty in-memory simulator; it starts no goroutine.
func newSimulator(cfg Config, logger *zap.Logger) *Simulator {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = zap.NewNop()
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = randomSeed()
	}
	ctx, cancel := context.WithCancel(context.Background())
	rng := mrand.New(mrand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	s := &Simulator{
		cfg:         cfg,
		log:         logger,
		presignKey:  randomBytes(32),
		client:      httpclient.New(0, cfg.WebhookTimeout),
		ctx:         ctx,
		cancel:      cancel,
		rng:         rng,
		chaos:       cfg.Chaos().normalized(),
		variants:    cfg.Webhooks.normalized(),
		receivers:   parseReceivers(cfg.WebhookURL),
		nextNumID:   1_000_000 + rng.Int64N(8_000_000),
		tokens:      map[string]token{},
		routeFaults: map[faultKey]RouteFault{},
		users:       map[string]*user{},
		idents:      map[string]*identification{},
		documents:   map[string]*document{},
		accessTags:  map[accessTagKey]storedAnswer{},
		queues:      map[string][]outgoing{},
		active:      map[string]bool{},
		deliveries:  map[string][]Delivery{},
		counters:    newCounters(),
	}
	s.busy.init()
	return s
}

// Close stops webhook delivery and automatic KYC decisions, ends hanging API calls and
// waits for the simulator's goroutines. Undelivered webhooks are dropped, or, with a
// StateFile, saved with the rest of the state by a final save (errors are logged) and
// resumed by the next Open. Idempotent.
func (s *Simulator) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.finalSave()
}

// SetWebhookURL changes where webhooks are delivered: one URL, or several separated by
// commas that take turns (see Config.WebhookURL). Queued webhooks go to the new URLs.
func (s *Simulator) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receivers = parseReceivers(u)
}

// SetChaos changes the chaos settings at run time (rates are clamped into [0, 1]).
func (s *Simulator) SetChaos(c Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chaos = c.normalized()
}

// Chaos returns the current chaos settings.
func (s *Simulator) Chaos() Chaos {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chaos
}

// WaitIdle blocks until no webhook is queued or being delivered and no automatic KYC
// decision is scheduled, or ctx is done.
func (s *Simulator) WaitIdle(ctx context.Context) error {
	return s.busy.waitIdle(ctx)
}

// Serve listens on addr and serves the simulator until ctx is done, then shuts the server
// down gracefully and closes the simulator.
func (s *Simulator) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener is Serve on an existing listener, over TLS when Config.TLSCertFile is set.
func (s *Simulator) ServeListener(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLSCertFile != "" {
		tlsCfg, err := s.ServerTLSConfig()
		if err != nil {
			_ = ln.Close()
			s.Close()
			return err
		}
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("treezor simulator listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.Close() // ends hanging calls first, so Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("treezor simulator stopped")
	return nil
}

// ServerTLSConfig is the TLS configuration Serve uses: the server certificate of
// Config.TLSCertFile/TLSKeyFile and, with Config.ClientCAFile, a required client
// certificate signed by one of its CAs.
func (s *Simulator) ServerTLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("simulator TLS: load certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if s.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("simulator TLS: read client CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("simulator TLS: client CA bundle %s holds no PEM certificate", s.cfg.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// now is the simulator's clock.
func (s *Simulator) now() time.Time { return s.cfg.Now() }

// newNumericID returns a fresh numeric id (users, documents, payins). Caller holds s.mu.
func (s *Simulator) newNumericID() string {
	s.nextNumID++
	return fmt.Sprint(s.nextNumID)
}

// newIdentificationID returns a fresh IDnow-style id such as "TRZ-KXQWB". Caller holds s.mu.
func (s *Simulator) newIdentificationID() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for {
		b := []byte("TRZ-")
		for range 5 {
			b = append(b, letters[s.rng.IntN(len(letters))])
		}
		if _, taken := s.idents[string(b)]; !taken {
			return string(b)
		}
	}
}

// newUUID returns a random (seeded) UUID v4 string. Caller holds s.mu.
func (s *Simulator) newUUID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], s.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randomSeed() int64 {
	return int64(binary.BigEndian.Uint64(randomBytes(8)) >> 1)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("treezorsim: crypto/rand: " + err.Error())
	}
	return b
}
