package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// The generator and client library, pinned. openapi-typescript reads
// OpenAPI 3.1 as served (oapi-codegen v2 does not: it stops at type
// arrays such as ["array", "null"]).
const clientPackages = `{"private": true, "type": "module", "dependencies": {
  "openapi-fetch": "0.17.0", "openapi-typescript": "7.13.0", "typescript": "5.9.3"}}`

// clientProgram calls three endpoints through the client generated from
// the served document: sign in, read the catalog, open a case and read it
// back. tsc checks every path, parameter and body against the generated
// types before it runs.
const clientProgram = `import createClient from "openapi-fetch";
import type { paths } from "./schema.js";
declare const process: { env: Record<string, string | undefined> };

const api = createClient<paths>({ baseUrl: process.env.DAIBAN_URL });
const login = await api.POST("/api/v1/login", { body: { username: "g.town", password: process.env.DAIBAN_PASSWORD } });
if (!login.data) throw new Error("login: " + JSON.stringify(login.error));
const headers = { Authorization: "Bearer " + login.data.token };
const matters = await api.GET("/api/v1/matters", { headers });
if (!matters.data) throw new Error("matters: " + JSON.stringify(matters.error));
const created = await api.POST("/api/v1/cases", { headers, body: {
  region: "370323001", channel: "counter", matter: "YJS001", summary: "生成的客户端",
  applicant: { kind: "person", name: process.env.APPLICANT_NAME, id_number: process.env.APPLICANT_ID, phone: process.env.APPLICANT_PHONE },
} });
if (!created.data) throw new Error("create: " + JSON.stringify(created.error));
const got = await api.GET("/api/v1/cases/{id}", { headers, params: { path: { id: created.data.id } } });
if (!got.data) throw new Error("get: " + JSON.stringify(got.error));
console.log(JSON.stringify({ user: login.data.user.username, matters: (matters.data.items ?? []).length,
  id: created.data.id, number: got.data.number, state: got.data.state, etag: got.response.headers.get("ETag") }));
`

const tsconfig = `{"compilerOptions": {"target": "es2022", "module": "nodenext", "moduleResolution": "nodenext",
  "strict": true, "skipLibCheck": true, "outDir": "out", "types": []}, "files": ["client.ts"]}`

// TestGeneratedClient is the integrator's test: generate a client from
// /api/v1/openapi.json with a common generator and call the API with it.
func TestGeneratedClient(t *testing.T) {
	t.Parallel()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is needed (Debian package npm; ./dev setup installs it)")
	}
	env := apptest.New(t)
	env.User(t, "g.town", "township_agent", "370323001")
	dir := t.TempDir()
	doc := env.Do(t, "", http.MethodGet, "/api/v1/openapi.json", nil, nil).Must(t, 200)
	for name, content := range map[string]string{"openapi.json": string(doc.Body), "package.json": clientPackages, "client.ts": clientProgram, "tsconfig.json": tsconfig} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(env []string, name string, args ...string) []byte {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
		}
		t.Logf("%s %v: %s", filepath.Base(name), args[0], time.Since(start).Round(time.Millisecond))
		return out
	}
	bin := func(n string) string { return filepath.Join(dir, "node_modules", ".bin", n) }
	run(nil, npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
	run(nil, bin("openapi-typescript"), "openapi.json", "-o", "schema.d.ts")
	run(nil, bin("tsc"), "-p", ".")
	p := apptest.Person(t, 9)
	out := run([]string{"DAIBAN_URL=" + env.Server.URL, "DAIBAN_PASSWORD=" + apptest.Password,
		"APPLICANT_NAME=" + p["name"], "APPLICANT_ID=" + p["id_number"], "APPLICANT_PHONE=" + p["phone"]}, "node", "out/client.js")
	var got struct {
		User    string `json:"user"`
		Matters int    `json:"matters"`
		ID      int64  `json:"id"`
		Number  string `json:"number"`
		State   string `json:"state"`
		ETag    string `json:"etag"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	c := caseJSON(t, env, env.Token(t, "g.town"), got.ID)
	if got.User != "g.town" || got.Matters == 0 || got.Number != c["number"] || got.State != "consultation" || got.ETag != fmt.Sprintf("%q", "1") {
		t.Fatalf("generated client saw %+v; the case is %v %v", got, c["number"], c["state"])
	}
}
