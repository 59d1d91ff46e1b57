package httpapi

import (
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
)

// statusOf is the one mapping from contract error codes to HTTP status.
var statusOf = map[string]int{
	daiban.EINVALID:              http.StatusUnprocessableEntity,
	daiban.EUNAUTHENTICATED:      http.StatusUnauthorized,
	daiban.EFORBIDDEN:            http.StatusForbidden,
	daiban.ENOTFOUND:             http.StatusNotFound,
	daiban.EVERSIONCONFLICT:      http.StatusConflict,
	daiban.EINVALIDTRANSITION:    http.StatusConflict,
	daiban.EDUPLICATE:            http.StatusConflict,
	daiban.EPRECONDITIONREQUIRED: http.StatusPreconditionRequired,
	daiban.ETOOLARGE:             http.StatusRequestEntityTooLarge,
	daiban.ETOOMANYREQUESTS:      http.StatusTooManyRequests,
	daiban.EUNAVAILABLE:          http.StatusServiceUnavailable,
	daiban.EINTERNAL:             http.StatusInternalServerError,
}

// Status returns the HTTP status of an error.
func Status(err error) int { return statusOf[daiban.ErrorCode(translate(err))] }

// The database conditions translate reports; their messages are fixed
// and safe to show anyone.
var (
	errDiskFull     = daiban.Errorf(daiban.EUNAVAILABLE, "数据库存储空间已满，本次操作未执行；请联系管理员清理磁盘后重试")
	errDatabaseDown = daiban.Errorf(daiban.EUNAVAILABLE, "数据库暂时不可用，请稍后重试")
)

// Unavailable returns the user-facing message when err means the database
// cannot act just now (down, or out of space), else "". Other 503s
// (startup problems with keys or fonts) carry details meant for the
// administrator and give "".
func Unavailable(err error) string {
	switch t := translate(err); t {
	case errDiskFull, errDatabaseDown:
		return daiban.ErrorMessage(t)
	}
	return ""
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	CaseID  int64  `json:"case_id,omitempty"`
}

// translate turns framework and database errors into application errors.
func translate(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return daiban.Errorf(daiban.ENOTFOUND, "接口不存在")
		case http.StatusMethodNotAllowed:
			return daiban.Errorf(daiban.ENOTFOUND, "接口不支持该请求方法")
		case http.StatusRequestEntityTooLarge:
			return errTooLarge
		case http.StatusUnauthorized:
			return daiban.Errorf(daiban.EUNAUTHENTICATED, "请先登录")
		case http.StatusForbidden:
			return daiban.Errorf(daiban.EFORBIDDEN, "无权执行此操作")
		case http.StatusTooManyRequests:
			return daiban.Errorf(daiban.ETOOMANYREQUESTS, "请求过于频繁，请稍后再试")
		case http.StatusBadRequest:
			return daiban.Invalid("", "请求格式错误")
		}
		return err
	}
	if diskFull(err) {
		return errDiskFull
	}
	if unavailable(err) {
		return errDatabaseDown
	}
	return err
}

// diskFull reports whether the database refused a write for lack of
// space (disk_full). The transaction was rolled back as a whole, so the
// action can be sent again once space is freed.
func diskFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100"
}

// unavailable reports whether err means the database cannot be reached, a
// condition that passes (503) rather than a bug (500).
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case lostServer(err):
		return true
	case errors.As(err, &pe):
		// admin_shutdown, crash_shutdown, cannot_connect_now. (Too many
		// connections arrives as a ConnectError; out of memory is not
		// retried: it also means exhausted lock tables, a setting to fix.)
		// read_only_sql_transaction: a connection still open to a server
		// that a failover or switchover turned into a standby.
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "25006"
	}
	return pgconn.SafeToRetry(err)
}

// lostServer reports whether the driver lost its server mid-statement:
// the socket closed with nothing more to read (a killed or failed-over
// server; its kernel closes the connection, which arrives as EOF rather
// than as a network error). The driver returns some of these bare — a
// batch's results do — so any EOF that reaches here counts: request
// bodies cut short were already refused as invalid by the binder.
func lostServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	orig := err
	err = translate(err)
	code := daiban.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if code == daiban.EINTERNAL || code == daiban.EUNAVAILABLE {
		// The original error, for the administrator (a database error's
		// text names the file or setting at fault, never row values).
		s.logger.Error("request failed", "request_id", RequestID(c), "route", c.Path(), "method", c.Request().Method, "err", orig.Error())
	}
	body := errorBody{Error: errorDetail{Code: code, Message: daiban.ErrorMessage(err), Field: daiban.ErrorField(err), CaseID: daiban.ErrorCaseID(err)}}
	// A full disk needs an administrator, not a retry in five seconds.
	if code == daiban.EUNAVAILABLE && err != errDiskFull {
		c.Response().Header().Set("Retry-After", "5")
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(status)
	} else {
		werr = c.JSON(status, body)
	}
	if werr != nil {
		s.logger.Warn("writing error response", "request_id", RequestID(c), "err", werr.Error())
	}
}
