%% Erlang side of scripts/bench/registry.ts: global:register_name and
%% global:whereis_name on three `erl -sname` nodes on one machine. Prints
%% one JSON object on stdout.
%%
%% This VM becomes node `wbrerlmain`; `wbrerla` and `wbrerlb` are started
%% with `peer`. All register with the epmd on ERL_EPMD_PORT, which the
%% caller runs.
%%
%%   global:register_name(Name, Pid)   from this node, a fresh pid per name; returns once
%%                                     every node has the name (global's guarantee)
%%   global:whereis_name(Name)         on a peer, for every name, as many rounds as it takes
-module(weft_bench_registry).
-export([main/1, lookups/2]).

main([NS, LookupRoundsS]) ->
    [N, Rounds] = [list_to_integer(S) || S <- [NS, LookupRoundsS]],
    {ok, _} = net_kernel:start([wbrerlmain, shortnames]),
    Dir = filename:dirname(code:which(?MODULE)),
    Peers = [begin
                 {ok, Peer, Node} = peer:start_link(#{
                     name => Name,
                     longnames => false,
                     connection => standard_io,
                     args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]
                 }),
                 true = net_kernel:connect_node(Node),
                 {Peer, Node}
             end || Name <- [wbrerla, wbrerlb]],
    ok = global:sync(),
    Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
    Named = lists:zip(lists:seq(1, N), Pids),
    T0 = erlang:monotonic_time(nanosecond),
    [yes = global:register_name({name, I}, P) || {I, P} <- Named],
    T1 = erlang:monotonic_time(nanosecond),
    RegsPerSec = N / ((T1 - T0) / 1.0e9),
    {Peer1, _} = hd(Peers),
    LookupsPerSec = peer:call(Peer1, ?MODULE, lookups, [N, Rounds], infinity),
    [global:unregister_name({name, I}) || {I, _} <- Named],
    [P ! stop || P <- Pids],
    [peer:stop(P) || {P, _} <- Peers],
    io:format("{\"registrationsPerSec\": ~.1f, \"lookupsPerSec\": ~.1f}~n",
              [RegsPerSec, LookupsPerSec]),
    halt(0).

%% Runs on a peer: whereis_name of every name, Rounds times; lookups/s.
lookups(N, Rounds) ->
    T0 = erlang:monotonic_time(nanosecond),
    [[_ = global:whereis_name({name, I}) || I <- lists:seq(1, N)] || _ <- lists:seq(1, Rounds)],
    T1 = erlang:monotonic_time(nanosecond),
    N * Rounds / ((T1 - T0) / 1.0e9).
