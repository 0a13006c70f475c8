-- wrk script: each thread replays its own file of pre-signed requests, one line per request:
-- webhook-id \t webhook-timestamp \t webhook-signature \t Host \t body
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  requests = {}
  local path, prefix = args[1], args[2]
  for line in io.lines(prefix .. "." .. tid) do
    local id, ts, sig, host, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Host"] = host,
      ["Content-Type"] = "application/json",
      ["webhook-id"] = id,
      ["webhook-timestamp"] = ts,
      ["webhook-signature"] = sig,
    }, body)
  end
  index = 0
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
