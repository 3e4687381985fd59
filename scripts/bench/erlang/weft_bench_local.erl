%% Erlang side of scripts/bench/local.ts: the same measurements, so Weft's
%% figures can be read as ratios measured on one machine in one run.
%% Prints one JSON object on stdout. Runs with the default scheduler
%% settings (one scheduler per CPU this OS process may use).
-module(weft_bench_local).
-export([main/1]).

main([NSpawnS, NIdleS, NRoundS]) ->
    NSpawn = list_to_integer(NSpawnS),
    NIdle = list_to_integer(NIdleS),
    NRound = list_to_integer(NRoundS),
    %% Memory first, before the other figures grow the allocators.
    {LongRate, Rss} = long_lived(NIdle),
    Spawn = spawn_rate(NSpawn),
    Rt = round_trip_us(NRound),
    io:format("{\"spawnPerSec\": ~.1f, \"longSpawnPerSec\": ~.1f, \"rssPerProcess\": ~.1f, "
              "\"roundTripUs\": ~.4f}~n",
              [Spawn, LongRate, Rss, Rt]),
    halt(0).

%% Spawn N processes that each tell the parent they ran; rate until the last told.
spawn_rate(N) ->
    Parent = self(),
    T0 = erlang:monotonic_time(nanosecond),
    [spawn(fun() -> Parent ! done end) || _ <- lists:seq(1, N)],
    wait_n(N),
    T1 = erlang:monotonic_time(nanosecond),
    N / ((T1 - T0) / 1.0e9).

wait_n(0) -> ok;
wait_n(K) -> receive done -> wait_n(K - 1) end.

%% Spawn N processes that each tell the parent they started and then wait in
%% receive: the rate until the last told, and the OS RSS per process.
long_lived(N) ->
    Parent = self(),
    erlang:garbage_collect(),
    R0 = rss(),
    T0 = erlang:monotonic_time(nanosecond),
    Pids = [spawn(fun() -> Parent ! done, receive stop -> ok end end) || _ <- lists:seq(1, N)],
    wait_n(N),
    T1 = erlang:monotonic_time(nanosecond),
    R1 = rss(),
    [P ! stop || P <- Pids],
    {N / ((T1 - T0) / 1.0e9), (R1 - R0) / N}.

%% This OS process's resident set size in bytes.
rss() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {match, [Kb]} = re:run(Status, "VmRSS:\\s+(\\d+) kB", [{capture, all_but_first, list}]),
    list_to_integer(Kb) * 1024.

%% Ping-pong between two local processes; microseconds per round trip.
round_trip_us(N) ->
    Pong = spawn(fun pong/0),
    T0 = erlang:monotonic_time(nanosecond),
    ping(Pong, N),
    T1 = erlang:monotonic_time(nanosecond),
    Pong ! stop,
    (T1 - T0) / 1000 / N.

ping(_, 0) -> ok;
ping(Pong, K) -> Pong ! {ping, self()}, receive pong -> ping(Pong, K - 1) end.

pong() -> receive {ping, From} -> From ! pong, pong(); stop -> ok end.
