#!/bin/bash

__blksnapctl_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__blksnapctl_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__blksnapctl_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__blksnapctl_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_blksnapctl() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    version|doctor|tracker|cbt|snapshot|session|nbd|backup|sim|demo|help)
        # Offer subcommand argument completions
        "_blksnapctl_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'version doctor tracker cbt snapshot session nbd backup sim demo help' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_version() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_doctor() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_tracker() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    attach|detach)
        # Offer subcommand argument completions
        "_blksnapctl_tracker_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'attach detach' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_tracker_attach() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_tracker_detach() {
    repeating_flags=()
    non_repeating_flags=(--json --force --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_cbt() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    info|read|mark-dirty)
        # Offer subcommand argument completions
        "_blksnapctl_cbt_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'info read mark-dirty' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_cbt_info() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_cbt_read() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --output --since)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--output')
        return
        ;;
    '--since')
        return
        ;;
    esac
}

_blksnapctl_cbt_mark-dirty() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=(--range)
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--range')
        return
        ;;
    esac
}

_blksnapctl_snapshot() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|add|append-storage|take|list|info|wait-event|watch|destroy)
        # Offer subcommand argument completions
        "_blksnapctl_snapshot_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create add append-storage take list info wait-event watch destroy' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_snapshot_create() {
    repeating_flags=()
    non_repeating_flags=(--json --allow-sequential-take --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --storage --limit)
    __blksnapctl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--storage')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_blksnapctl_snapshot_add() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_snapshot_append-storage() {
    repeating_flags=()
    non_repeating_flags=(--json --allow-same-device --version -h --help)
    repeating_options=(--range)
    non_repeating_options=(--sim --log-level --abi --device --file)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--device')
        return
        ;;
    '--range')
        return
        ;;
    '--file')
        return
        ;;
    esac
}

_blksnapctl_snapshot_take() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_snapshot_list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_snapshot_info() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_snapshot_wait-event() {
    repeating_flags=()
    non_repeating_flags=(--json --drain --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --timeout-ms)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--timeout-ms')
        return
        ;;
    esac
}

_blksnapctl_snapshot_watch() {
    repeating_flags=()
    non_repeating_flags=(--json --allow-same-device --destroy --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --storage --step --limit)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--storage')
        return
        ;;
    '--step')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_blksnapctl_snapshot_destroy() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_session() {
    repeating_flags=()
    non_repeating_flags=(--json --detach --allow-same-device --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --pre-snapshot --post-snapshot --hook-timeout --storage --step --limit)
    __blksnapctl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--pre-snapshot')
        return
        ;;
    '--post-snapshot')
        return
        ;;
    '--hook-timeout')
        return
        ;;
    '--storage')
        return
        ;;
    '--step')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_blksnapctl_nbd() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    serve)
        # Offer subcommand argument completions
        "_blksnapctl_nbd_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'serve' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_nbd_serve() {
    repeating_flags=()
    non_repeating_flags=(--json --insecure --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --unix --tcp --tls-certs --cbt-since)
    __blksnapctl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--unix')
        return
        ;;
    '--tcp')
        return
        ;;
    '--tls-certs')
        return
        ;;
    '--cbt-since')
        return
        ;;
    esac
}

_blksnapctl_backup() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|verify|restore|serve|prune)
        # Offer subcommand argument completions
        "_blksnapctl_backup_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list verify restore serve prune' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_backup_create() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --full --allow-same-device --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file --pre-snapshot --post-snapshot --hook-timeout --progress --storage --compress --step --limit)
    __blksnapctl_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    '--pre-snapshot')
        return
        ;;
    '--post-snapshot')
        return
        ;;
    '--hook-timeout')
        return
        ;;
    '--progress')
        __blksnapctl_add_completions -W 'auto'$'\n''tty'$'\n''json'$'\n''none'
        return
        ;;
    '--storage')
        return
        ;;
    '--compress')
        return
        ;;
    '--step')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_blksnapctl_backup_list() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    esac
}

_blksnapctl_backup_verify() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    esac
}

_blksnapctl_backup_restore() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --force --delta --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file --progress --to --storage)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    '--progress')
        __blksnapctl_add_completions -W 'auto'$'\n''tty'$'\n''json'$'\n''none'
        return
        ;;
    '--to')
        return
        ;;
    '--storage')
        return
        ;;
    esac
}

_blksnapctl_backup_serve() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --insecure --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file --unix --tcp --tls-certs --name)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    '--unix')
        return
        ;;
    '--tcp')
        return
        ;;
    '--tls-certs')
        return
        ;;
    '--name')
        return
        ;;
    esac
}

_blksnapctl_backup_prune() {
    repeating_flags=()
    non_repeating_flags=(--json --quiet --dry-run --check-sources --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --repo --host-name --cache-dir --ca-file --keep-last --keep-hourly --keep-daily --keep-weekly --keep-monthly --keep-yearly --keep-within)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--repo')
        return
        ;;
    '--host-name')
        return
        ;;
    '--cache-dir')
        return
        ;;
    '--ca-file')
        return
        ;;
    '--keep-last')
        return
        ;;
    '--keep-hourly')
        return
        ;;
    '--keep-daily')
        return
        ;;
    '--keep-weekly')
        return
        ;;
    '--keep-monthly')
        return
        ;;
    '--keep-yearly')
        return
        ;;
    '--keep-within')
        return
        ;;
    esac
}

_blksnapctl_sim() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    serve|device|write|read|loop)
        # Offer subcommand argument completions
        "_blksnapctl_sim_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'serve device write read loop' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_sim_serve() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=(--param)
    non_repeating_options=(--sim --log-level --abi --root --socket --mount)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--root')
        return
        ;;
    '--socket')
        return
        ;;
    '--mount')
        return
        ;;
    '--param')
        return
        ;;
    esac
}

_blksnapctl_sim_device() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list)
        # Offer subcommand argument completions
        "_blksnapctl_sim_device_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_sim_device_add() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --size --backing --logical-block-size)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--size')
        return
        ;;
    '--backing')
        return
        ;;
    '--logical-block-size')
        return
        ;;
    esac
}

_blksnapctl_sim_device_list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_sim_write() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --offset --input --pattern --length)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--offset')
        return
        ;;
    '--input')
        return
        ;;
    '--pattern')
        return
        ;;
    '--length')
        return
        ;;
    esac
}

_blksnapctl_sim_read() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi --offset --length --output)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    '--offset')
        return
        ;;
    '--length')
        return
        ;;
    '--output')
        return
        ;;
    esac
}

_blksnapctl_sim_loop() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    attach|detach)
        # Offer subcommand argument completions
        "_blksnapctl_sim_loop_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'attach detach' -- "${cur}"))
        ;;
    esac
}

_blksnapctl_sim_loop_attach() {
    repeating_flags=()
    non_repeating_flags=(--json --writable --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_sim_loop_detach() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_demo() {
    repeating_flags=()
    non_repeating_flags=(--json --keep-files --version -h --help)
    repeating_options=()
    non_repeating_options=(--sim --log-level --abi)
    __blksnapctl_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sim')
        return
        ;;
    '--log-level')
        return
        ;;
    '--abi')
        __blksnapctl_add_completions -W 'v5'$'\n''val6'$'\n''val7'
        return
        ;;
    esac
}

_blksnapctl_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __blksnapctl_offer_flags_options -1
}

complete -o filenames -F _blksnapctl blksnapctl
