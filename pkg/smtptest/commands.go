package smtptest

import (
	"bytes"
	"net"
	"strings"
	"sync"
)

// Commands returns the verbs of every command clients have sent, in the
// order they arrived, across connections: "EHLO", "MAIL", "RCPT", ...
// Message content is not included. The server reads the wire as plain
// text, so this knows nothing of a TLS session, and a client that sends
// content before the reply to DATA (pipelining) would have it read as
// commands.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

func (s *Server) record(verb string) {
	s.mu.Lock()
	s.cmds = append(s.cmds, verb)
	s.mu.Unlock()
}

// recorder is a listener whose connections report the client's commands.
type recorder struct {
	net.Listener
	s *Server
}

// Accept wraps the next connection.
func (r recorder) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, s: r.s}, nil
}

// recordingConn reads client lines as commands, except between a DATA
// the server accepted (354) and the lone dot that ends the message.
type recordingConn struct {
	net.Conn
	s *Server

	mu      sync.Mutex
	line    []byte
	asked   bool // DATA was sent; the reply decides whether content follows
	content bool
}

// Read reads from the client, recording each command line.
func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range p[:n] {
		if b != '\n' {
			c.line = append(c.line, b)
			continue
		}
		c.command(strings.TrimSuffix(string(c.line), "\r"))
		c.line = c.line[:0]
	}
	return n, err
}

func (c *recordingConn) command(line string) {
	if c.content {
		c.content = line != "."
		return
	}
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	c.s.record(verb)
	c.asked = verb == "DATA"
}

// Write answers the client; a reply to DATA says whether content follows.
func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.asked {
		c.content, c.asked = bytes.HasPrefix(p, []byte("354")), false
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}
