package cases

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/daiban/daiban"
)

// text checks a free-text field: valid UTF-8, no control characters other
// than line breaks, at most max characters, present when required.
func text(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", daiban.Invalid(field, "%s含有无法识别的字符", fieldName(field))
	}
	if required && s == "" {
		return "", daiban.Invalid(field, "请填写%s", fieldName(field))
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", daiban.Invalid(field, "%s过长（%d 字，最多 %d 字）", fieldName(field), n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return "", daiban.Invalid(field, "%s含有不可见的控制字符，请删除后重试", fieldName(field))
		}
	}
	return s, nil
}

var fieldNames = map[string]string{
	"note": "说明", "reason": "原因", "summary": "事由", "applicant.name": "申请人姓名",
	"authority": "上级机关", "comment": "评价意见", "step": "办理环节", "result": "整改结果",
	"to": "接收方", "matter": "事项", "handler": "经办人", "q": "搜索内容",
	"name": "名称", "number": "编号", "duplicate_reason": "另行登记的原因",
}

// fieldName is the form's word for a field; a row of a list
// ("items[2].name") is named by its row ("第 3 项的名称").
func fieldName(f string) string {
	if n, ok := fieldNames[f]; ok {
		return n
	}
	if m := indexed.FindStringSubmatch(f); m != nil {
		i, _ := strconv.Atoi(m[2])
		if n, ok := fieldNames[m[3]]; ok {
			return fmt.Sprintf("第 %d 项的%s", i+1, n)
		}
		return fmt.Sprintf("第 %d 项", i+1)
	}
	return "此项"
}

// ValidPhone checks a contact phone: an 11-digit mobile number or a
// landline with its area code.
func ValidPhone(s string) bool { return phonePattern.MatchString(strings.TrimSpace(s)) }

// ValidIDNumber checks an 18-character resident ID number (GB 11643): digits,
// a valid date and the ISO 7064 MOD 11-2 check character.
func ValidIDNumber(id string) bool {
	if len(id) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * weights[i]
	}
	month := (id[10]-'0')*10 + id[11] - '0'
	day := (id[12]-'0')*10 + id[13] - '0'
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return false
	}
	return "10X98765432"[sum%11] == upper(id[17])
}

// ValidCreditCode checks an 18-character unified social credit code
// (GB 32100) by its check character.
func ValidCreditCode(code string) bool {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	if len(code) != 18 {
		return false
	}
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(alphabet, upper(code[i]))
		if v < 0 {
			return false
		}
		sum += v * weights[i]
	}
	check := (31 - sum%31) % 31
	return alphabet[check] == upper(code[17])
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

var phonePattern = regexp.MustCompile(`^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$`)

// MaskID shows the first four and last four characters of an ID number:
// 3703**********1234.
func MaskID(id string) string {
	if len(id) <= 8 {
		return strings.Repeat("*", len(id))
	}
	return id[:4] + strings.Repeat("*", len(id)-8) + id[len(id)-4:]
}

// MaskPhone shows the first three and last four digits: 138****1201.
func MaskPhone(p string) string {
	if len(p) <= 7 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// MaskName keeps the first character of a name for public pages: 张**.
func MaskName(n string) string {
	r := []rune(n)
	if len(r) <= 1 || n == ErasedName { // nothing personal left to hide
		return n
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}
