package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// SelfPeakRSS returns this process's peak resident set (VmHWM).
func SelfPeakRSS() (int64, error) { return PeakRSS("/proc/self/status") }

// PidPeakRSS returns the peak resident set (VmHWM) of process pid.
func PidPeakRSS(pid int) func() (int64, error) {
	return func() (int64, error) { return PeakRSS(fmt.Sprintf("/proc/%d/status", pid)) }
}

// PeakRSS reads VmHWM from a /proc status file, in bytes.
func PeakRSS(statusFile string) (int64, error) {
	f, err := os.Open(statusFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fs := strings.Fields(rest)
			if len(fs) != 2 || fs[1] != "kB" {
				return 0, fmt.Errorf("无法解析 VmHWM 行 %q", sc.Text())
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb << 10, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s 中没有 VmHWM", statusFile)
}

// ResetSelfPeak returns freed memory to the system and resets this
// process's VmHWM to its current resident set (Linux: writing 5 to
// /proc/self/clear_refs). Without the first step the heap freed after the
// sign-in burst would still count, as Go gives it back only slowly.
func ResetSelfPeak() error {
	debug.FreeOSMemory()
	return ResetPeak("/proc/self/clear_refs")
}

// ResetPeak writes 5 to a /proc clear_refs file.
func ResetPeak(clearRefs string) error {
	return os.WriteFile(clearRefs, []byte("5"), 0)
}
