// Result<T, E>: a value or an error enum, with no exceptions. Errors are small
// per-operation enums; an error value exists only if a caller can act on it.
#pragma once

#include <gantry/assert.hpp>

#include <new>
#include <type_traits>
#include <utility>

namespace gantry {

template<typename E>
struct Failure {
    E error;
};

template<typename E>
constexpr Failure<E> fail(E error)
{
    return Failure<E>{error};
}

template<typename T, typename E>
class [[nodiscard]] Result {
public:
    Result(T value) : m_ok(true) { new (&m_value) T(std::move(value)); }
    Result(Failure<E> failure) : m_ok(false) { m_error = failure.error; }
    Result(Result&& other) : m_ok(other.m_ok)
    {
        if (m_ok)
            new (&m_value) T(std::move(other.m_value));
        else
            m_error = other.m_error;
    }
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&& other)
    {
        if (this == &other)
            return *this;
        this->~Result();
        new (this) Result(std::move(other));
        return *this;
    }
    ~Result()
    {
        if (m_ok)
            m_value.~T();
    }

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }

    T& value()
    {
        GANTRY_ASSERT(m_ok);
        return m_value;
    }
    const T& value() const
    {
        GANTRY_ASSERT(m_ok);
        return m_value;
    }
    T release_value()
    {
        GANTRY_ASSERT(m_ok);
        return std::move(m_value);
    }
    E error() const
    {
        GANTRY_ASSERT(!m_ok);
        return m_error;
    }
    // Used by GANTRY_TRY: the value for Result, nothing for Status.
    T take() { return release_value(); }

private:
    bool m_ok;
    union {
        T m_value;
        E m_error;
    };
};

// Result<void, E>.
template<typename E>
class [[nodiscard]] Status {
public:
    Status() : m_ok(true) {}
    Status(Failure<E> failure) : m_ok(false), m_error(failure.error) {}
    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    E error() const
    {
        GANTRY_ASSERT(!m_ok);
        return m_error;
    }
    void take() {}

private:
    bool m_ok;
    E m_error{};
};

} // namespace gantry

// Evaluates a Result/Status; on error returns the error from the enclosing function,
// otherwise yields the value (Result) or nothing (Status).
#define GANTRY_TRY(expression)                                  \
    ({                                                          \
        auto&& _gantry_try = (expression);                      \
        if (!_gantry_try.ok()) [[unlikely]]                     \
            return ::gantry::fail(_gantry_try.error());         \
        _gantry_try.take();                                     \
    })
