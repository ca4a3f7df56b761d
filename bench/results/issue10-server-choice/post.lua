wrk.method = "POST"
wrk.body   = '{"kind":"echo","params":{"text":"hello world"}}'
wrk.headers["Content-Type"] = "application/json"
