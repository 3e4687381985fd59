%% Erlang side of scripts/bench/dist.ts: the same distribution measurements
%% between two `erl -sname` nodes on one machine, so that Weft's figures can
%% be read as ratios measured in one run. Prints one JSON object on stdout.
%%
%% This VM starts as a plain `erl -setcookie C` and turns itself into node
%% `weftbencherla` (so that it can later restart its distribution under new
%% names, for the connect figure); the far node `weftbencherlb` is started
%% with `peer` (that is `erl -sname weftbencherlb ...`), controlled over its
%% stdio so that it outlives those restarts. Both register with the epmd on
%% ERL_EPMD_PORT, which the caller runs.
%%
%%   echo  {From, Ping}  -> {pong, Ping}
%%   sink  counts messages; {From, done} -> {count, N}
-module(weft_bench_dist).
-export([main/1, start_services/0]).

main([NRttS, NSmallS, NBigS, NConnS, RunsS]) ->
    [NRtt, NSmall, NBig, NConn, Runs] =
        [list_to_integer(S) || S <- [NRttS, NSmallS, NBigS, NConnS, RunsS]],
    {ok, _} = net_kernel:start([weftbencherla, shortnames]),
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, B} = peer:start_link(#{
        name => weftbencherlb,
        longnames => false,
        connection => standard_io,
        args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]
    }),
    ok = peer:call(Peer, ?MODULE, start_services, []),
    true = net_kernel:connect_node(B),
    Echo = rpc:call(B, erlang, whereis, [echo]),
    Sink = rpc:call(B, erlang, whereis, [sink]),

    _ = rtt(Echo, 1000),
    Rtts = [rtt(Echo, NRtt) || _ <- lists:seq(1, Runs)],
    P50 = median([percentile(S, 50) || S <- Rtts]),
    P99 = median([percentile(S, 99) || S <- Rtts]),
    Small = median([small(Sink, NSmall) || _ <- lists:seq(1, Runs)]),
    Bin = binary:copy(<<7>>, 1 bsl 20),
    Big = median([big(Sink, Bin, NBig) || _ <- lists:seq(1, Runs)]),

    %% A fresh node each time: new name, new epmd registration, no cached address.
    ok = net_kernel:stop(),
    Conn = median([connect(B, I) || I <- lists:seq(1, NConn)]),

    peer:stop(Peer),
    io:format(
        "{\"rttP50Us\": ~.3f, \"rttP99Us\": ~.3f, \"smallPerSec\": ~.1f, "
        "\"bigMiBPerSec\": ~.2f, \"connectMs\": ~.3f}~n",
        [P50, P99, Small, Big, Conn]
    ),
    halt(0).

%% Runs on the far node (through peer:call): register echo and sink there.
start_services() ->
    register(echo, spawn(fun echo/0)),
    register(sink, spawn(fun() -> sink(0) end)),
    ok.

echo() ->
    receive
        {From, Ping} -> From ! {pong, Ping}, echo()
    end.

sink(Count) ->
    receive
        {From, done} -> From ! {count, Count}, sink(0);
        _ -> sink(Count + 1)
    end.

%% N ping-pongs; the round-trip time of each, in microseconds.
rtt(Echo, N) -> rtt(Echo, N, []).

rtt(_, 0, Acc) -> Acc;
rtt(Echo, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {self(), K},
    receive {pong, K} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    rtt(Echo, K - 1, [(T1 - T0) / 1000 | Acc]).

%% Stream N small messages, then wait for the count: messages per second.
small(Sink, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    send_n(Sink, N),
    Sink ! {self(), done},
    receive {count, N} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    N / ((T1 - T0) / 1.0e9).

send_n(_, 0) -> ok;
send_n(Sink, K) -> Sink ! K, send_n(Sink, K - 1).

%% Stream N 1 MiB binaries, then wait for the count: MiB per second.
big(Sink, Bin, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    [Sink ! Bin || _ <- lists:seq(1, N)],
    Sink ! {self(), done},
    receive {count, N} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    N / ((T1 - T0) / 1.0e9).

%% Start distribution under a new name, time connect_node (epmd lookup,
%% TCP connect, handshake), stop again: milliseconds.
connect(B, I) ->
    {ok, _} = net_kernel:start([list_to_atom("weftbencherlc" ++ integer_to_list(I)), shortnames]),
    T0 = erlang:monotonic_time(nanosecond),
    true = net_kernel:connect_node(B),
    T1 = erlang:monotonic_time(nanosecond),
    ok = net_kernel:stop(),
    (T1 - T0) / 1.0e6.

median(L) -> lists:nth((length(L) + 1) div 2, lists:sort(L)).

percentile(L, P) ->
    S = lists:sort(L),
    N = length(S),
    I = min(N, max(1, ceil(P / 100 * N))),
    lists:nth(I, S).
