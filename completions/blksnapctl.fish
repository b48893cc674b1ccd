function __blksnapctl_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __blksnapctl_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __blksnapctl_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __blksnapctl_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __blksnapctl_parse_tokens -S
    set -l unparsed_tokens (__blksnapctl_tokens -pc)
    switch $unparsed_tokens[1]
    case 'blksnapctl'
        __blksnapctl_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'version'
            __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'version' 'h/help'
        case 'tracker'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'attach'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'detach'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'force' 'version' 'h/help'
            end
        case 'cbt'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'info'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'read'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'output=' 'since=' 'version' 'h/help'
            case 'mark-dirty'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'range=+' 'version' 'h/help'
            end
        case 'snapshot'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'create'
                __blksnapctl_parse_subcommand -r 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'add'
                __blksnapctl_parse_subcommand 2 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'append-storage'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'device=' 'range=+' 'allow-same-device' 'file=' 'version' 'h/help'
            case 'take'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'list'
                __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'info'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            case 'wait-event'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'timeout-ms=' 'drain' 'version' 'h/help'
            case 'watch'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'storage=' 'step=' 'limit=' 'allow-same-device' 'destroy' 'version' 'h/help'
            case 'destroy'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
            end
        case 'session'
            __blksnapctl_parse_subcommand -r 1 'sim=' 'json' 'log-level=' 'storage=' 'step=' 'limit=' 'detach' 'allow-same-device' 'version' 'h/help'
        case 'nbd'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'serve'
                __blksnapctl_parse_subcommand -r 1 'sim=' 'json' 'log-level=' 'unix=' 'tcp=' 'tls-certs=' 'insecure' 'cbt-since=' 'version' 'h/help'
            end
        case 'backup'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'create'
                __blksnapctl_parse_subcommand -r 1 'sim=' 'json' 'log-level=' 'repo=' 'quiet' 'storage=' 'full' 'step=' 'limit=' 'allow-same-device' 'version' 'h/help'
            case 'list'
                __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'repo=' 'quiet' 'version' 'h/help'
            case 'verify'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'repo=' 'quiet' 'version' 'h/help'
            case 'restore'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'repo=' 'quiet' 'to=' 'force' 'version' 'h/help'
            case 'serve'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'repo=' 'quiet' 'unix=' 'tcp=' 'tls-certs=' 'insecure' 'name=' 'version' 'h/help'
            end
        case 'sim'
            __blksnapctl_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'serve'
                __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'root=' 'socket=' 'mount=' 'param=+' 'version' 'h/help'
            case 'device'
                __blksnapctl_parse_subcommand 0 'version' 'h/help'
                switch $unparsed_tokens[1]
                case 'add'
                    __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'size=' 'backing=' 'logical-block-size=' 'version' 'h/help'
                case 'list'
                    __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'version' 'h/help'
                end
            case 'write'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'offset=' 'input=' 'pattern=' 'length=' 'version' 'h/help'
            case 'read'
                __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'offset=' 'length=' 'output=' 'version' 'h/help'
            case 'loop'
                __blksnapctl_parse_subcommand 0 'version' 'h/help'
                switch $unparsed_tokens[1]
                case 'attach'
                    __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'writable' 'version' 'h/help'
                case 'detach'
                    __blksnapctl_parse_subcommand 1 'sim=' 'json' 'log-level=' 'version' 'h/help'
                end
            end
        case 'demo'
            __blksnapctl_parse_subcommand 0 'sim=' 'json' 'log-level=' 'keep-files' 'version' 'h/help'
        case 'help'
            __blksnapctl_parse_subcommand -r 1 'version'
        end
    end
end

function __blksnapctl_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __blksnapctl_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __blksnapctl_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __blksnapctl_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__blksnapctl_tokens -p)
    if test -z "$(__blksnapctl_tokens -t)"
        set -l index (count (__blksnapctl_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'blksnapctl' -f
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'version' -d 'Print the blksnap module version (v5 reports 2.0.0.0).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'tracker' -d 'Attach or detach the blksnap filter (change tracker) on a block device.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'cbt' -d 'Read or mark the change-block-tracking (CBT) map of a tracked device.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'snapshot' -d 'Create, populate, take, inspect and destroy snapshots.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'session' -d 'Snapshot DEVICEs, keep the difference storage ahead of demand, run COMMAND on the images, tear down.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'nbd' -d 'Export snapshot images over NBD, with CBT as a qemu:dirty-bitmap.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'backup' -d 'Back devices up as qcow2 chains (full, then incremental through CBT); list, verify, restore and serve them.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'sim' -d 'Host a blksnap simulator and manage its simulated block devices.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'demo' -d 'Run a complete snapshot scenario on an in-process simulator and verify it.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl version" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl version" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl version" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl version" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl version" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl tracker" -eq 1' -fa 'attach' -d 'Start tracking changes of DEVICE (BLKFILTER_ATTACH).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl tracker" -eq 1' -fa 'detach' -d 'Stop tracking DEVICE (BLKFILTER_DETACH); its CBT map is lost.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker attach" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker attach" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker attach" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker attach" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker attach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" force' -l 'force' -d 'Detach even while DEVICE is in a taken snapshot (its image then stops being protected).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl tracker detach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl cbt" -eq 1' -fa 'info' -d 'Print the CBT parameters of DEVICE: capacity, block size and count, generation, changes number.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl cbt" -eq 1' -fa 'read' -d 'Read the CBT map of DEVICE and list the blocks changed after a changes number.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl cbt" -eq 1' -fa 'mark-dirty' -d 'Mark sector ranges of DEVICE as changed, so the next incremental backup copies them.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt info" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt info" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt info" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt info" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt info" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" output' -l 'output' -d 'Write the raw map (one byte per CBT block) to this file.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" since' -l 'since' -d 'List the blocks whose byte is greater than this changes number (0-255).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt read" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty"' -l 'range' -d 'Sector range (512-byte sectors) to mark; repeatable.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl cbt mark-dirty" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'create' -d 'Create a snapshot, print its id, and add DEVICEs to it (attaching trackers as needed).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'add' -d 'Add a tracked DEVICE to snapshot ID (before take).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'append-storage' -d 'Give snapshot ID sector ranges of a block device as difference storage.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'take' -d 'Take snapshot ID: images /dev/blksnap-image_MAJ:MIN appear for its devices.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'list' -d 'List the ids of all snapshots, in creation order.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'info' -d 'Print the snapshot image of DEVICE and whether its difference area is corrupted.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'wait-event' -d 'Wait for the next event of snapshot ID and print it (JSON Lines with --json).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'watch' -d 'Keep the difference storage of an existing snapshot ahead of demand until SIGINT/SIGTERM.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl snapshot" -eq 1' -fa 'destroy' -d 'Destroy snapshot ID: its images disappear and its storage is released.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot create" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot create" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot create" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot create" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot add" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot add" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot add" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot add" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" device' -l 'device' -d 'Block device holding the storage (path or MAJ:MIN).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage"' -l 'range' -d 'Sector range (512-byte sectors) of --device; repeatable.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" allow-same-device' -l 'allow-same-device' -d 'Allow storage on a tracked device, a snapshot member, or its partition or whole disk.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" file' -l 'file' -d 'A preallocated file as storage, pinned with the immutable flag (real kernel only; see the discussion).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot append-storage" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot take" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot take" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot take" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot take" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot take" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot list" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot list" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot list" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot list" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot info" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot info" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot info" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot info" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot info" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" timeout-ms' -l 'timeout-ms' -d 'Give up after this many milliseconds (0 polls; default: wait until an event arrives).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" drain' -l 'drain' -d 'After the first event, also print the events already queued (polling with timeout 0).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot wait-event" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" storage' -l 'storage' -d 'Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, or dir:PATH.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" step' -l 'step' -d 'Append at least this much per step.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" limit' -l 'limit' -d 'Append at most this much storage in total.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" allow-same-device' -l 'allow-same-device' -d 'Allow --storage on a tracked device, or its partition or whole disk.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" destroy' -l 'destroy' -d 'Destroy the snapshot when stopped by a signal (then storage is released).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot watch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot destroy" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot destroy" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot destroy" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot destroy" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl snapshot destroy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" storage' -l 'storage' -d 'Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, or dir:PATH.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" step' -l 'step' -d 'Append at least this much per step (K, M, G suffixes; default: what the kernel asks).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" limit' -l 'limit' -d 'Append at most this much storage in total.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" detach' -l 'detach' -d 'At the end, detach the trackers this session attached (their CBT is lost).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" allow-same-device' -l 'allow-same-device' -d 'Allow --storage on a tracked device, a member, or its partition or whole disk.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl session" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl nbd" -eq 1' -fa 'serve' -d 'Serve the snapshot images of DEVICEs read-only over NBD until SIGINT or SIGTERM.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" unix' -l 'unix' -d 'Listen on this Unix socket (created mode 0600, removed on exit).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" tcp' -l 'tcp' -d 'Listen on TCP HOST:PORT ([ADDRESS]:PORT for IPv6; port 0 picks one); needs --tls-certs, or --insecure on loopback.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" tls-certs' -l 'tls-certs' -d 'Require TLS with the x509 credentials in DIR (server-cert.pem, server-key.pem, ca-cert.pem).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" insecure' -l 'insecure' -d 'Allow --tcp without TLS, on a loopback address only.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" cbt-since' -l 'cbt-since' -d 'Offer qemu:dirty-bitmap:cbt: the CBT blocks whose changes number is greater than this (0-255).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl nbd serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl backup" -eq 1' -fa 'create' -d 'Snapshot DEVICEs and write one qcow2 backup of each into the repository.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl backup" -eq 1' -fa 'list' -d 'List the backups of a repository.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl backup" -eq 1' -fa 'verify' -d 'Re-read every cluster of the backup files and check them against the catalog\'s SHA-256.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl backup" -eq 1' -fa 'restore' -d 'Write the point in time of a backup to a raw image file or onto a block device.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl backup" -eq 1' -fa 'serve' -d 'Serve the point in time of a backup read-only over NBD until SIGINT or SIGTERM.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" repo' -l 'repo' -d 'The backup repository (a directory; created by the first backup create).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" quiet' -l 'quiet' -d 'Print nothing but errors (and the --json document).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" storage' -l 'storage' -d 'Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, or dir:PATH.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" full' -l 'full' -d 'Make full backups even where an incremental is possible.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" step' -l 'step' -d 'Append at least this much storage per step (K, M, G suffixes).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" limit' -l 'limit' -d 'Append at most this much storage in total.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" allow-same-device' -l 'allow-same-device' -d 'Allow --storage on a tracked device, a member, or its partition or whole disk.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" repo' -l 'repo' -d 'The backup repository (a directory; created by the first backup create).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" quiet' -l 'quiet' -d 'Print nothing but errors (and the --json document).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" repo' -l 'repo' -d 'The backup repository (a directory; created by the first backup create).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" quiet' -l 'quiet' -d 'Print nothing but errors (and the --json document).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" repo' -l 'repo' -d 'The backup repository (a directory; created by the first backup create).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" quiet' -l 'quiet' -d 'Print nothing but errors (and the --json document).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" to' -l 'to' -d 'Target: a raw image file path or a block device.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" force' -l 'force' -d 'Overwrite an existing non-empty target file.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup restore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" repo' -l 'repo' -d 'The backup repository (a directory; created by the first backup create).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" quiet' -l 'quiet' -d 'Print nothing but errors (and the --json document).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" unix' -l 'unix' -d 'Listen on this Unix socket (created mode 0600, removed on exit).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" tcp' -l 'tcp' -d 'Listen on TCP HOST:PORT ([ADDRESS]:PORT for IPv6; port 0 picks one); needs --tls-certs, or --insecure on loopback.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" tls-certs' -l 'tls-certs' -d 'Require TLS with the x509 credentials in DIR (server-cert.pem, server-key.pem, ca-cert.pem).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" insecure' -l 'insecure' -d 'Allow --tcp without TLS, on a loopback address only.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" name' -l 'name' -d 'Export name (default: the device\'s base name).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl backup serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim" -eq 1' -fa 'serve' -d 'Host a simulated blksnap kernel on a Unix socket until SIGINT or SIGTERM.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim" -eq 1' -fa 'device' -d 'Add or list simulated block devices.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim" -eq 1' -fa 'write' -d 'Write bytes to a simulated device or image, as a program would (through its filter).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim" -eq 1' -fa 'read' -d 'Read bytes of a simulated device or snapshot image and print their checksum.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim" -eq 1' -fa 'loop' -d 'Bind loop devices to the simulator\'s FUSE-served device and image files.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" root' -l 'root' -d 'Directory for the simulator\'s files (created with its parents if missing).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" socket' -l 'socket' -d 'Socket path (default: DIR/blksnapctl.sock).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" mount' -l 'mount' -d 'Also serve the devices and images as files under MOUNTPOINT/dev (FUSE).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve"' -l 'param' -d 'Module parameter NAME=VALUE; repeatable.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim device" -eq 1' -fa 'add' -d 'Add a simulated block device /dev/NAME.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim device" -eq 1' -fa 'list' -d 'List the simulated devices and live snapshot images.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" size' -l 'size' -d 'Capacity in bytes, with K, M, G or T suffix (a multiple of 512).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" backing' -l 'backing' -d 'Host file holding the bytes (created if missing).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" logical-block-size' -l 'logical-block-size' -d 'Logical block size in bytes (512 to 64K, power of two).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device add" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device list" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device list" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device list" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device list" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim device list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" offset' -l 'offset' -d 'Byte offset (K, M, G, T suffixes allowed).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" input' -l 'input' -d 'File whose contents are written.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" pattern' -l 'pattern' -d 'Seed of the pseudo-random pattern to write.' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" length' -l 'length' -d 'Bytes of pattern to write (with --pattern).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim write" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" offset' -l 'offset' -d 'Byte offset (K, M, G, T suffixes allowed).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" length' -l 'length' -d 'Number of bytes (at most 1G).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" output' -l 'output' -d 'Save the bytes to this file (\'-\': stdout).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim read" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim loop" -eq 1' -fa 'attach' -d 'Bind a free loop device to a simulated device or image and print it (/dev/loopN).'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_positional "blksnapctl sim loop" -eq 1' -fa 'detach' -d 'Detach a loop device bound to one of the simulator\'s files.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" writable' -l 'writable' -d 'Bind an image read-write.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop attach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop detach" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop detach" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop detach" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop detach" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl sim loop detach" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" sim' -l 'sim' -d 'Talk to the simulator listening on this Unix socket instead of the kernel (default: $BLKSNAPCTL_SIM).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" json' -l 'json' -d 'Print one JSON document (JSON Lines for streaming commands) with snake_case fields.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" log-level' -l 'log-level' -d 'Log lines of the library and servers on stderr from this level up: trace, debug, info, notice, warning, error, critical (default: $BLKSNAPCTL_LOG_LEVEL, else notice).' -rfka ''
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" keep-files' -l 'keep-files' -d 'Keep the temporary directory with the disk files.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" version' -l 'version' -d 'Show the version.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'blksnapctl' -n '__blksnapctl_should_offer_completions_for_flags_or_options "blksnapctl help" version' -l 'version' -d 'Show the version.'
