package pgserver

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, a checkpoint is written) and waits for it to exit. It escalates to
// immediate shutdown and finally SIGKILL if the server does not exit in
// time. It is safe to call more than once; later calls return the first
// result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	s.stopping.Store(true)
	defer s.removeTempSocketDir()

	select {
	case <-s.done:
		if s.waitErr != nil {
			return fmt.Errorf("PostgreSQL 在停止前已意外退出：%v（详见日志 %s）", s.waitErr, s.logPath)
		}
		return nil
	default:
	}

	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, 60 * time.Second},  // fast shutdown
		{syscall.SIGQUIT, 10 * time.Second}, // immediate shutdown
		{syscall.SIGKILL, 0},                // wait forever
	}
	for i, st := range steps {
		if err := s.cmd.Process.Signal(st.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.log.Warn("无法向 PostgreSQL 发送信号", "signal", st.sig, "err", err)
		}
		var timeout <-chan time.Time
		if st.wait > 0 {
			t := time.NewTimer(st.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-s.done:
			if i == 0 && s.waitErr == nil {
				s.log.Info("内置 PostgreSQL 已停止", "data_dir", s.dataDir)
				return nil
			}
			return fmt.Errorf("PostgreSQL 未能正常停止：%v（详见日志 %s）", s.waitErr, s.logPath)
		case <-timeout:
			s.log.Warn("PostgreSQL 未在限定时间内停止，升级停止方式", "signal", st.sig, "waited", st.wait)
		}
	}
	return nil // unreachable: the last step waits forever
}

func (s *Server) removeTempSocketDir() {
	if s.tmpSock {
		_ = os.RemoveAll(s.sockDir)
	}
}
