%% Erlang side of scripts/bench/local.ts: the same three measurements, so
%% Weft's figures can be read as ratios measured on one machine in one run.
%% Prints one JSON object on stdout.
-module(weft_bench_local).
-export([main/1]).

main([NSpawnS, NIdleS, NRoundS, RunsS]) ->
    NSpawn = list_to_integer(NSpawnS),
    NIdle = list_to_integer(NIdleS),
    NRound = list_to_integer(NRoundS),
    Runs = list_to_integer(RunsS),
    Spawn = median([spawn_rate(NSpawn) || _ <- lists:seq(1, Runs)]),
    Idle = median([idle_bytes(NIdle) || _ <- lists:seq(1, Runs)]),
    Rt = median([round_trip_us(NRound) || _ <- lists:seq(1, Runs)]),
    io:format("{\"spawnPerSec\": ~.1f, \"bytesPerIdleProcess\": ~.1f, \"roundTripUs\": ~.4f}~n",
              [Spawn, Idle, Rt]),
    halt(0).

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).

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

%% Memory of N processes blocked in receive, per process.
idle_bytes(N) ->
    erlang:garbage_collect(),
    M0 = erlang:memory(processes),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
    M1 = erlang:memory(processes),
    [P ! stop || P <- Pids],
    (M1 - M0) / N.

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
