%% Erlang side of scripts/bench/erlang_interop.ts, and the far node of its
%% Weft side.
%%
%%   main(["serve"])                  registers echo and sink, runs until killed
%%                                    (the BEAM peer a Weft node measures against)
%%   main(["measure", NRtt, NSmall])  erl <-> erl: starts a far node with peer,
%%                                    measures what the Weft side measures, prints
%%                                    one JSON line
%%
%%   echo  {From, Ping}  -> {pong, Ping}
%%   sink  counts messages; {From, done} -> {count, N}
-module(weft_bench_interop).
-export([main/1, start_services/0]).

main(["serve"]) ->
    start_services(),
    io:format("serving~n"),
    receive stop -> halt(0) end;
main(["measure", NRttS, NSmallS]) ->
    [NRtt, NSmall] = [list_to_integer(S) || S <- [NRttS, NSmallS]],
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, B} = peer:start_link(#{
        name => peer:random_name(weftinteropb),
        longnames => true,
        host => "127.0.0.1",
        connection => standard_io,
        args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]
    }),
    ok = peer:call(Peer, ?MODULE, start_services, []),
    true = net_kernel:connect_node(B),
    Echo = {echo, B},
    Sink = {sink, B},
    _ = rtt(Echo, 500),
    Rtts = rtt(Echo, NRtt),
    Small = small(Sink, NSmall),
    peer:stop(Peer),
    io:format(
        "{\"rttP50Us\": ~.3f, \"rttP99Us\": ~.3f, \"smallPerSec\": ~.1f}~n",
        [percentile(Rtts, 50), percentile(Rtts, 99), Small]
    ),
    halt(0).

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

rtt(Echo, N) -> rtt(Echo, N, []).

rtt(_, 0, Acc) -> Acc;
rtt(Echo, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {self(), K},
    receive {pong, K} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    rtt(Echo, K - 1, [(T1 - T0) / 1000 | Acc]).

small(Sink, N) ->
    T0 = erlang:monotonic_time(nanosecond),
    send_n(Sink, N),
    Sink ! {self(), done},
    receive {count, N} -> ok end,
    T1 = erlang:monotonic_time(nanosecond),
    N / ((T1 - T0) / 1.0e9).

send_n(_, 0) -> ok;
send_n(Sink, K) -> Sink ! K, send_n(Sink, K - 1).

percentile(L, P) ->
    S = lists:sort(L),
    N = length(S),
    I = min(N, max(1, ceil(P / 100 * N))),
    lists:nth(I, S).
