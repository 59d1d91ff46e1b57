package pgcluster

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// baseSettings keep a node small (pg_autoctl sizes shared_buffers by the machine's memory, too
// much for three servers on a test machine). Synchronous commit stays on:
// the monitor names the secondary in synchronous_standby_names, so a
// commit is acknowledged once it is on both machines.
func (c *Cluster) baseSettings() map[string]string {
	return map[string]string{
		"shared_buffers":  "'128MB'",
		"max_connections": "200",
		"wal_keep_size":   "'256MB'",
	}
}

// appendSettings adds settings at the end of postgresql.conf, after the
// include of pg_autoctl's own file, so they win over it.
func appendSettings(pgdata string, settings map[string]string) error {
	var b strings.Builder
	b.WriteString("\n# pgcluster\n")
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s = %s\n", k, settings[k])
	}
	f, err := os.OpenFile(filepath.Join(pgdata, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(b.String())
	return err
}

func (c *Cluster) startMonitor(ctx context.Context) error {
	m, err := c.newNode("monitor")
	if err != nil {
		return err
	}
	if err := c.runQuiet(ctx, m.log, c.autoctl, "create", "monitor", "--pgdata", m.PGData, "--pgctl", c.pgctl(),
		"--pgport", strconv.Itoa(m.Port), "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl"); err != nil {
		return err
	}
	settings := c.baseSettings()
	settings["listen_addresses"] = "'127.0.0.1'"
	maps.Copy(settings, c.opt.Timing.settings())
	if err := appendSettings(m.PGData, settings); err != nil {
		return err
	}
	c.Monitor = m
	if err := c.Run(m); err != nil {
		return err
	}
	if err := c.waitConnect(ctx, c.MonitorURL()); err != nil {
		return err
	}
	c.opt.Logger.Info("pg_auto_failover 监控节点已启动", "port", m.Port)
	return nil
}

func (c *Cluster) pgctl() string { return filepath.Join(c.bins.BinDir(), "pg_ctl") }

// MonitorURL is the monitor's database, as pg_autoctl's nodes reach it.
func (c *Cluster) MonitorURL() string {
	return fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", c.Monitor.Port)
}

// addNode creates node i+1 (the first becomes primary, the next its
// secondary from a base backup of it) and runs its keeper.
func (c *Cluster) addNode(ctx context.Context, i int) error {
	n, err := c.newNode(fmt.Sprintf("node%d", i+1))
	if err != nil {
		return err
	}
	if err := c.runQuiet(ctx, n.log, c.autoctl, "create", "postgres", "--pgdata", n.PGData, "--pgctl", c.pgctl(),
		"--pgport", strconv.Itoa(n.Port), "--hostname", "127.0.0.1", "--listen", "127.0.0.1",
		"--auth", "trust", "--no-ssl", "--pg-hba-lan", "--name", n.Name, "--monitor", c.MonitorURL()); err != nil {
		return err
	}
	settings := map[string]string{}
	if i == 0 { // the secondary's postgresql.conf is a copy of the primary's
		settings = c.baseSettings()
		maps.Copy(settings, c.opt.Settings)
	}
	if c.opt.NodeSettings != nil {
		maps.Copy(settings, c.opt.NodeSettings(n))
	}
	if err := appendSettings(n.PGData, settings); err != nil {
		return err
	}
	c.Nodes = append(c.Nodes, n)
	if err := c.Run(n); err != nil {
		return err
	}
	if err := c.waitConnect(ctx, c.NodeURL(n, "postgres", "postgres")); err != nil {
		return err
	}
	c.opt.Logger.Info("pg_auto_failover 节点已启动", "node", n.Name, "port", n.Port)
	want := "single"
	if i > 0 {
		want = "secondary"
	}
	return c.WaitStates(ctx, time.Minute, map[string]string{n.Name: want})
}

// createOwner makes the application's owner login and database on the
// primary (trust on loopback: the test machine's own account).
func (c *Cluster) createOwner(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.NodeURL(c.Nodes[0], "postgres", "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	owner := pgx.Identifier{c.opt.Owner}.Sanitize()
	for _, q := range []string{
		"CREATE ROLE " + owner + " LOGIN CREATEROLE",
		"CREATE DATABASE " + pgx.Identifier{c.opt.Database}.Sanitize() + " OWNER " + owner,
		// The secondary's base backup waits for a checkpoint, spread over
		// minutes when CREATE DATABASE left many dirty pages: write them now.
		"CHECKPOINT",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s：%w", q, err)
		}
	}
	return nil
}

// NodeURL is one node's database as user, over loopback TCP.
func (c *Cluster) NodeURL(n *Node, user, db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=3", user, n.Port, db)
}

// URL is the application's multi-host address: every node, and the one
// that accepts writes is chosen at each connection.
func (c *Cluster) URL(user string) string {
	var hosts []string
	for _, n := range c.Nodes {
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", n.Port))
	}
	return fmt.Sprintf("postgres://%s@%s/%s?target_session_attrs=read-write&sslmode=disable&connect_timeout=3",
		user, strings.Join(hosts, ","), c.opt.Database)
}

// Database is the application's database name.
func (c *Cluster) Database() string { return c.opt.Database }

func (c *Cluster) waitConnect(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := pgx.Connect(cctx, url)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("30 秒内无法连接 %s：%v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// States returns each node's reported and assigned state, as the
// monitor sees them ("primary/primary").
func (c *Cluster) States(ctx context.Context) (map[string]string, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.MonitorURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(cctx, "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var name, rep, goal string
		if err := rows.Scan(&name, &rep, &goal); err != nil {
			return nil, err
		}
		out[name] = rep + "/" + goal
	}
	return out, rows.Err()
}

// WaitStates waits until each named node has reached (reported and
// assigned) its state.
func (c *Cluster) WaitStates(ctx context.Context, timeout time.Duration, want map[string]string) error {
	deadline := time.Now().Add(timeout)
	var got map[string]string
	var err error
	for {
		got, err = c.States(ctx)
		ok := err == nil
		for name, st := range want {
			ok = ok && got[name] == st+"/"+st
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s 内节点未达到状态 %v：当前 %v %v", timeout, want, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Primary returns the node that accepts writes now.
func (c *Cluster) Primary(ctx context.Context) (*Node, error) {
	for _, n := range c.Nodes {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, c.NodeURL(n, "postgres", "postgres")+"&target_session_attrs=read-write")
		cancel()
		if err == nil {
			conn.Close(ctx)
			return n, nil
		}
	}
	return nil, fmt.Errorf("没有可写的节点")
}

// ShowState is "pg_autoctl show state", as an administrator reads it.
func (c *Cluster) ShowState(ctx context.Context) (string, error) {
	out, err := c.Command(ctx, c.autoctl, "show", "state", "--pgdata", c.Monitor.PGData).CombinedOutput()
	return string(out), err
}

// Rejoin starts a lost node's keeper again and waits until it follows
// the new primary as its secondary. pg_auto_failover rewinds it with
// pg_rewind or, when that fails (as pg_autoctl 2.0 does with
// PostgreSQL 15: "standby mode is not supported by single-user
// servers"), copies it afresh with pg_basebackup, which waits for a
// checkpoint on the primary: a CHECKPOINT every two seconds keeps that
// wait short, as an administrator would run one by hand.
func (c *Cluster) Rejoin(ctx context.Context, n *Node, timeout time.Duration) error {
	if err := c.Run(n); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		states, err := c.States(ctx)
		if err == nil && states[n.Name] == "secondary/secondary" {
			primaries := 0
			for name, st := range states {
				if name != n.Name && st == "primary/primary" {
					primaries++
				}
			}
			if primaries == 1 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s 内 %s 未能作为备节点重新加入：%v %v", timeout, n.Name, states, err)
		}
		if p, err := c.Primary(ctx); err == nil && p != n {
			c.checkpoint(ctx, p)
		}
		time.Sleep(2 * time.Second)
	}
}

func (c *Cluster) checkpoint(ctx context.Context, n *Node) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.NodeURL(n, "postgres", "postgres"))
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	_, _ = conn.Exec(cctx, "CHECKPOINT")
}

// SyncStandbys counts the primary's standbys that commits wait for
// (pg_stat_replication's sync_state sync or quorum).
func (c *Cluster) SyncStandbys(ctx context.Context) (int, error) {
	p, err := c.Primary(ctx)
	if err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, c.NodeURL(p, "postgres", "postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')").Scan(&n)
	return n, err
}
